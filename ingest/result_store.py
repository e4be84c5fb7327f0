# Only module constants are interpolated into SQL; every value is a query parameter.
# ruff: noqa: S608
"""Write one upload's results with set-based SQL: stage, merge, upsert.

Rows go into a TEMP staging table (PostgreSQL: COPY through psycopg 3; elsewhere:
executemany), then a few INSERT … SELECT statements create the missing tests and
upsert ``ingest_result`` with the merge rule below. Records are handled in chunks so
memory stays flat for huge reports: duplicates inside a chunk are merged in Python,
duplicates across chunks by an ``ON CONFLICT`` upsert into a second temp table.

Merge rule (the same as ``ingest.junit.merge_attempts``): a test passed if any attempt
passed, and is then flaky when another attempt failed or errored; otherwise the outcome
is error over failed over skipped. Attempts and durations (seconds) add up; the first
non-empty message, file and suite are kept.

The caller owns the transaction: everything here must run inside ``atomic()``.
"""

import math
from dataclasses import dataclass

from django.db import connections
from django.utils import timezone

from ingest.models import Result

PASSED, FAILED, ERROR, SKIPPED = (
    Result.Outcome.PASSED.value,
    Result.Outcome.FAILED.value,
    Result.Outcome.ERROR.value,
    Result.Outcome.SKIPPED.value,
)
# Higher wins when attempts are merged.
RANK = {PASSED: 4, ERROR: 3, FAILED: 2, SKIPPED: 1}
CHUNK_SIZE = 50_000
MAX_ATTEMPTS = 32767  # PositiveSmallIntegerField

STAGE = "pl_stage"
MERGED = "pl_merged"
COLUMNS = (
    "identity",
    "classname",
    "name",
    "file",
    "suite",
    "outcome",
    "flaky",
    "attempts",
    "duration",
    "message",
    "category_id",
)
# Indexes into a staged row (a list, so chunk merging can update it in place).
I_FILE, I_SUITE, I_OUTCOME, I_FLAKY, I_ATTEMPTS, I_DURATION, I_MESSAGE = 3, 4, 5, 6, 7, 8, 9


@dataclass(frozen=True)
class Counts:
    """Per-upload counts of distinct tests by merged outcome."""

    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0


def merge_row(old: list, new: list) -> None:
    """Merge staged row `new` into `old` in place (same identity)."""
    a, b = old[I_OUTCOME], new[I_OUTCOME]
    outcome = b if RANK[b] > RANK[a] else a
    failing = a in (FAILED, ERROR) or b in (FAILED, ERROR)
    old[I_FLAKY] = bool(old[I_FLAKY] or new[I_FLAKY] or (outcome == PASSED and failing))
    old[I_OUTCOME] = outcome
    old[I_ATTEMPTS] = min(old[I_ATTEMPTS] + new[I_ATTEMPTS], MAX_ATTEMPTS)
    old[I_DURATION] = old[I_DURATION] + new[I_DURATION]
    for i in (I_MESSAGE, I_FILE, I_SUITE):
        if not old[i] and new[i]:
            old[i] = new[i]


def _rank(col: str) -> str:
    return f"(CASE {col} WHEN 1 THEN 4 WHEN 3 THEN 3 WHEN 2 THEN 2 ELSE 1 END)"


def _merge_sets(table: str, least: str) -> str:
    """Return the SET clause merging ``excluded`` into the existing row of `table`."""
    old, new = f"{table}.", "excluded."
    return f"""
        outcome = CASE WHEN {_rank(new + "outcome")} > {_rank(old + "outcome")}
                  THEN {new}outcome ELSE {old}outcome END,
        flaky = ({old}flaky OR {new}flaky OR (
            ({old}outcome = 1 OR {new}outcome = 1)
            AND ({old}outcome IN (2, 3) OR {new}outcome IN (2, 3)))),
        attempts = {least}({old}attempts + {new}attempts, {MAX_ATTEMPTS}),
        duration = {old}duration + {new}duration,
        message = CASE WHEN {old}message = '' THEN {new}message ELSE {old}message END"""


class ResultWriter:
    """Collect one upload's records and write them as tests and merged results.

    Call `add` per test record (identity already computed from normalised names), then
    `finish` once; both inside the upload's transaction.
    """

    def __init__(
        self,
        *,
        project_id: int,
        run_id: int,
        upload_id: int,
        category_forced: bool,
        chunk_size: int = CHUNK_SIZE,
        using: str = "default",
    ):
        self.project_id = project_id
        self.run_id = run_id
        self.upload_id = upload_id
        self.category_forced = category_forced
        self.chunk_size = chunk_size
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        self.least = "LEAST" if self.postgres else "min"
        self._chunk: dict[str, list] = {}
        self._merged_used = False
        self._create(STAGE, unique=False)

    def add(
        self,
        identity: str,
        classname: str,
        name: str,
        file: str,
        suite: str,
        outcome: int,
        flaky: bool,
        attempts: int,
        duration: float,
        message: str,
        category_id: int,
    ) -> None:
        """Stage one record; a repeated identity is merged with the earlier one."""
        if not math.isfinite(duration) or duration < 0:
            duration = 0.0
        row = [identity, classname, name, file, suite, outcome, bool(flaky)]
        row += [max(1, min(attempts, MAX_ATTEMPTS)), duration, message, category_id]
        existing = self._chunk.get(identity)
        if existing is None:
            self._chunk[identity] = row
        else:
            merge_row(existing, row)
        if len(self._chunk) >= self.chunk_size:
            self._flush_to_merged()

    def finish(self) -> Counts:
        """Write tests and results; return this upload's counts. Drops the temp tables."""
        if self._merged_used:
            self._flush_to_merged()
            source = MERGED
        else:
            # A single chunk is already free of duplicates: use the stage directly.
            self._load_stage()
            source = STAGE
        with self.connection.cursor() as cursor:
            counts = self._counts(cursor, source)
            self._upsert_tests(cursor, source)
            self._upsert_results(cursor, source)
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
            cursor.execute(f"DROP TABLE IF EXISTS {MERGED}")
        return counts

    # -- staging ---------------------------------------------------------------------

    def _create(self, table: str, *, unique: bool) -> None:
        key = " PRIMARY KEY" if unique else ""
        boolean = "boolean" if self.postgres else "integer"
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                f"""CREATE TEMP TABLE {table} (
                    identity varchar(40) NOT NULL{key}, classname text NOT NULL,
                    name text NOT NULL, file text NOT NULL, suite text NOT NULL,
                    outcome smallint NOT NULL, flaky {boolean} NOT NULL,
                    attempts integer NOT NULL, duration double precision NOT NULL,
                    message text NOT NULL, category_id bigint NOT NULL)"""
            )

    def _load_stage(self) -> None:
        rows = self._chunk.values()
        with self.connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {STAGE}")
            if self.postgres:
                copy_sql = f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN"
                with cursor.cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            elif rows:
                marks = ", ".join(["%s"] * len(COLUMNS))
                cursor.executemany(f"INSERT INTO {STAGE} VALUES ({marks})", list(rows))
        self._chunk = {}

    def _flush_to_merged(self) -> None:
        if not self._merged_used:
            self._create(MERGED, unique=True)
            self._merged_used = True
        self._load_stage()
        cols = ", ".join(COLUMNS)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {MERGED} ({cols}) SELECT {cols} FROM {STAGE} WHERE 1 = 1
                ON CONFLICT (identity) DO UPDATE SET {_merge_sets(MERGED, self.least)},
                    file = CASE WHEN {MERGED}.file = '' THEN excluded.file
                           ELSE {MERGED}.file END,
                    suite = CASE WHEN {MERGED}.suite = '' THEN excluded.suite
                            ELSE {MERGED}.suite END"""
            )

    # -- final writes ----------------------------------------------------------------

    def _counts(self, cursor, source: str) -> Counts:
        cursor.execute(
            f"""SELECT COUNT(*),
                COALESCE(SUM(CASE WHEN outcome = 1 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN outcome = 2 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN outcome = 3 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN outcome = 4 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN flaky THEN 1 ELSE 0 END), 0)
            FROM {source}"""
        )
        return Counts(*(int(v) for v in cursor.fetchone()))

    def _upsert_tests(self, cursor, source: str) -> None:
        # ORDER BY gives concurrent uploads of one project the same lock order.
        cursor.execute(
            f"""INSERT INTO ingest_test
                (project_id, identity, classname, name, file, suite, first_seen_at)
            SELECT %s, identity, classname, name, file, suite, %s FROM {source}
            WHERE 1 = 1 ORDER BY identity
            ON CONFLICT (project_id, identity) DO NOTHING""",
            [self.project_id, timezone.now()],
        )
        # A test first seen without its file path gets it once a report names it.
        cursor.execute(
            f"""UPDATE ingest_test SET file = s.file FROM {source} s
            WHERE ingest_test.project_id = %s AND ingest_test.identity = s.identity
              AND ingest_test.file = '' AND s.file <> ''""",
            [self.project_id],
        )

    def _upsert_results(self, cursor, source: str) -> None:
        cursor.execute(
            f"""INSERT INTO ingest_result (run_id, test_id, upload_id, category_id,
                category_forced, outcome, flaky, attempts, duration, message)
            SELECT %s, t.id, %s, s.category_id, %s, s.outcome, s.flaky, s.attempts,
                s.duration, s.message
            FROM {source} s JOIN ingest_test t
              ON t.project_id = %s AND t.identity = s.identity
            WHERE 1 = 1 ORDER BY t.id
            ON CONFLICT (run_id, test_id) DO UPDATE SET
                {_merge_sets("ingest_result", self.least)},
                category_id = CASE WHEN excluded.category_forced
                                   AND NOT ingest_result.category_forced
                              THEN excluded.category_id ELSE ingest_result.category_id END,
                category_forced = (ingest_result.category_forced OR excluded.category_forced)""",
            [self.run_id, self.upload_id, self.category_forced, self.project_id],
        )
