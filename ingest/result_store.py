# Only module constants are interpolated into SQL; every value is a query parameter.
# ruff: noqa: S608
"""Write one upload's results with set-based SQL: stage, merge, upsert.

Records are handled in chunks so memory stays flat for huge reports. Each chunk goes
into a TEMP staging table (PostgreSQL: COPY through psycopg 3; elsewhere: executemany),
then INSERT … SELECT statements create the missing tests and upsert ``ingest_result``
with the merge rule below. Duplicates inside a chunk are merged in Python first;
duplicates across chunks (and across parts of a run) by the ``ON CONFLICT`` upsert.
The upload's own counts come from a narrow temp table of (identity, outcome, flaky)
merged the same way. On PostgreSQL a chunk is written by a helper thread on the same
connection while the caller parses the next one: the server does the SQL work on the
second core while Python parses.

Merge rule (the same as ``ingest.junit.merge_attempts``): a test passed if any attempt
passed, and is then flaky when another attempt failed or errored; otherwise the outcome
is error over failed over skipped. Attempts and durations (seconds) add up; the first
non-empty message, file and suite are kept.

The caller owns the transaction: everything here must run inside ``atomic()``.
"""

import math
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
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
CHUNK_SIZE = 25_000
MAX_ATTEMPTS = 32767  # PositiveSmallIntegerField

STAGE = "pl_stage"
COUNTS = "pl_counts"
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


def _outcome_sets(table: str) -> str:
    """Return the SET clause merging outcome and flaky of ``excluded`` into `table`."""
    old, new = f"{table}.", "excluded."
    return f"""
        outcome = CASE WHEN {_rank(new + "outcome")} > {_rank(old + "outcome")}
                  THEN {new}outcome ELSE {old}outcome END,
        flaky = ({old}flaky OR {new}flaky OR (
            ({old}outcome = 1 OR {new}outcome = 1)
            AND ({old}outcome IN (2, 3) OR {new}outcome IN (2, 3))))"""


def _merge_sets(table: str, least: str) -> str:
    """Return the SET clause merging ``excluded`` into the existing row of `table`."""
    old, new = f"{table}.", "excluded."
    return f"""{_outcome_sets(table)},
        attempts = {least}({old}attempts + {new}attempts, {MAX_ATTEMPTS}),
        duration = {old}duration + {new}duration,
        message = CASE WHEN {old}message = '' THEN {new}message ELSE {old}message END"""


class ResultWriter:
    """Collect one upload's records and write them as tests and merged results.

    Use as a context manager inside the upload's transaction: call `add` per test
    record (identity computed from normalised names), then `finish` once. Leaving the
    block always waits for the helper thread, so a rollback never races a write.
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
        run_has_results: bool = True,
    ):
        """`run_has_results=False` promises that no other writer can add results to
        the run before this transaction commits (the caller holds a run lock) and that
        it has none yet: the first chunk is then inserted without conflict handling."""
        self.project_id = project_id
        self.run_id = run_id
        self.upload_id = upload_id
        self.category_forced = category_forced
        self.chunk_size = chunk_size
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        self.least = "LEAST" if self.postgres else "min"
        self._chunk: dict[str, list] = {}
        self._chunks = 0
        self._plain_first = not run_has_results
        self._analyzed = False
        self._pending: Future | None = None
        self._executor = ThreadPoolExecutor(max_workers=1) if self.postgres else None
        self._create(STAGE, key=False)

    def __enter__(self) -> "ResultWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Wait for the helper thread (ignoring its error: the caller has one)."""
        if self._pending is not None:
            self._pending.exception()
            self._pending = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

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
            self._flush(last=False)

    def finish(self) -> Counts:
        """Write what is left; return this upload's counts. Drops the temp tables."""
        single = self._chunks == 0
        self._flush(last=True)
        self._wait()
        with self.connection.cursor() as cursor:
            # One chunk needs no cross-chunk merge: count straight from the stage.
            counts = self._counts(cursor, STAGE if single else COUNTS)
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
            cursor.execute(f"DROP TABLE IF EXISTS {COUNTS}")
        self.close()
        return counts

    # -- chunks ----------------------------------------------------------------------

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            # Map driver errors to Django's (OperationalError etc.) as its cursor would.
            with self.connection.wrap_database_errors:
                pending.result()

    def _flush(self, *, last: bool) -> None:
        rows = list(self._chunk.values())
        self._chunk = {}
        merge_counts = not (last and self._chunks == 0)
        self._wait()
        if merge_counts and self._chunks == 0:
            self._create(COUNTS, key=True)
        self._chunks += 1
        plain = self._plain_first and self._chunks == 1
        if self._executor is not None:
            self._pending = self._executor.submit(
                self._write_chunk, rows, merge_counts, plain, True
            )
        else:
            self._write_chunk(rows, merge_counts, plain, False)

    @contextmanager
    def _cursor(self, raw: bool):
        if raw:
            # The helper thread uses the driver connection directly: Django binds its
            # wrapper to the thread that opened it. Only one thread uses it at a time.
            with self.connection.connection.cursor() as cursor:
                yield cursor
        else:
            with self.connection.cursor() as cursor:
                yield cursor

    def _write_chunk(self, rows: list[list], merge_counts: bool, plain: bool, raw: bool) -> None:
        with self._cursor(raw) as cursor:
            self._load_stage(cursor, rows, raw)
            if merge_counts:
                cursor.execute(
                    f"""INSERT INTO {COUNTS} (identity, outcome, flaky)
                    SELECT identity, outcome, flaky FROM {STAGE} WHERE 1 = 1
                    ON CONFLICT (identity) DO UPDATE SET {_outcome_sets(COUNTS)}"""
                )
            self._upsert_tests(cursor)
            self._upsert_results(cursor, plain=plain)

    def _create(self, table: str, *, key: bool) -> None:
        boolean = "boolean" if self.postgres else "integer"
        if key:
            columns = f"identity varchar(40) PRIMARY KEY, outcome smallint, flaky {boolean}"
        else:
            columns = f"""identity varchar(40) NOT NULL, classname text NOT NULL,
                name text NOT NULL, file text NOT NULL, suite text NOT NULL,
                outcome smallint NOT NULL, flaky {boolean} NOT NULL,
                attempts integer NOT NULL, duration double precision NOT NULL,
                message text NOT NULL, category_id bigint NOT NULL"""
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TEMP TABLE {table} ({columns})")
            if not key and not self.postgres:
                # SQLite has no hash join: without this its joins on identity are
                # quadratic. PostgreSQL hashes the freshly analysed stage instead.
                cursor.execute(f"CREATE INDEX {table}_identity ON {table} (identity)")

    def _load_stage(self, cursor, rows: list[list], raw: bool) -> None:
        if self.postgres:
            cursor.execute(f"TRUNCATE {STAGE}")
            copy_sql = f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN"
            with cursor.copy(copy_sql) if raw else cursor.cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
            # Statistics let the planner pick index lookups for a chunk in a project
            # with many tests instead of hashing all of them. Once is enough: row
            # counts are estimated from the table's current size, and ANALYZE costs
            # as much as a fifth of a chunk's writes.
            if not self._analyzed:
                cursor.execute(f"ANALYZE {STAGE}")
                self._analyzed = True
        else:
            cursor.execute(f"DELETE FROM {STAGE}")
            if rows:
                marks = ", ".join(["%s"] * len(COLUMNS))
                cursor.executemany(f"INSERT INTO {STAGE} VALUES ({marks})", rows)

    # -- SQL ---------------------------------------------------------------------------

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

    def _upsert_tests(self, cursor) -> None:
        # ORDER BY gives concurrent uploads of one project the same lock order.
        cursor.execute(
            f"""INSERT INTO ingest_test
                (project_id, identity, classname, name, file, suite, first_seen_at)
            SELECT %s, identity, classname, name, file, suite, %s FROM {STAGE} s
            WHERE NOT EXISTS (SELECT 1 FROM ingest_test t
                              WHERE t.project_id = %s AND t.identity = s.identity)
            ORDER BY identity
            ON CONFLICT (project_id, identity) DO NOTHING""",
            [self.project_id, timezone.now(), self.project_id],
        )
        # A test first seen without its file path gets it once a report names it.
        cursor.execute(
            f"""UPDATE ingest_test SET file = s.file FROM {STAGE} s
            WHERE ingest_test.project_id = %s AND ingest_test.identity = s.identity
              AND ingest_test.file = '' AND s.file <> ''""",
            [self.project_id],
        )

    def _upsert_results(self, cursor, *, plain: bool) -> None:
        # Speculative insertion (ON CONFLICT) costs about a third more than a plain
        # insert, so a run's first chunk skips it when nothing can conflict.
        conflict = "" if plain else self._on_conflict()
        cursor.execute(
            f"""INSERT INTO ingest_result (run_id, test_id, upload_id, category_id,
                category_forced, outcome, flaky, attempts, duration, message)
            SELECT %s, t.id, %s, s.category_id, %s, s.outcome, s.flaky, s.attempts,
                s.duration, s.message
            FROM {STAGE} s JOIN ingest_test t
              ON t.project_id = %s AND t.identity = s.identity
            WHERE 1 = 1 ORDER BY t.id {conflict}""",
            [self.run_id, self.upload_id, self.category_forced, self.project_id],
        )

    def _on_conflict(self) -> str:
        return f"""ON CONFLICT (run_id, test_id) DO UPDATE SET
                {_merge_sets("ingest_result", self.least)},
                category_id = CASE WHEN excluded.category_forced
                                   AND NOT ingest_result.category_forced
                              THEN excluded.category_id ELSE ingest_result.category_id END,
                category_forced = (ingest_result.category_forced OR excluded.category_forced)"""
