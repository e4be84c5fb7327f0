# Only module constants are interpolated into SQL; every value is a query parameter.
# ruff: noqa: S608
"""The general write path: stage a chunk, then merge it with set-based SQL.

Each chunk goes into a TEMP staging table (PostgreSQL: COPY; elsewhere: executemany),
then INSERT … SELECT statements create the missing tests and upsert ``ingest_result``
with the merge rule of ``rows.merge_row``, written again in SQL. The upload's own
counts come from a narrow temp table of (identity, outcome, flaky) merged the same
way. SQLite always writes this way; PostgreSQL only once the COPY fast path
(``copy.py``) met a result that must be merged.
"""

from django.utils import timezone

from .rows import COLUMNS, MAX_ATTEMPTS, Counts, Target

STAGE = "pl_stage"
COUNTS = "pl_counts"


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


class SetBasedStore:
    """Stage-and-merge writes of one upload's chunks; the caller passes the cursor.

    With PostgreSQL the cursor is a psycopg cursor (it may run in a helper thread);
    elsewhere it is a Django cursor. Everything runs inside the caller's transaction.
    """

    def __init__(self, target: Target, *, postgres: bool):
        self.target = target
        self.postgres = postgres
        self.least = "LEAST" if postgres else "min"
        self.has_stage = False
        self.has_counts = False
        self._analyzed = False

    # -- temp tables -------------------------------------------------------------------

    def create_stage(self, cursor) -> None:
        self._create(cursor, STAGE, key=False)
        self.has_stage = True

    def create_counts(self, cursor) -> None:
        self._create(cursor, COUNTS, key=True)
        self.has_counts = True

    def seed_counts_from_upload(self, cursor) -> None:
        """Fill the counts table from the results this upload wrote, none of them merged.

        Called when the COPY path hands over: until then every result row with this
        upload's id is exactly one merged record of this upload.
        """
        cursor.execute(
            f"""INSERT INTO {COUNTS} (identity, outcome, flaky)
            SELECT t.identity, r.outcome, r.flaky FROM ingest_result r
            JOIN ingest_test t ON t.id = r.test_id
            WHERE r.upload_id = %s AND r.run_id = %s""",
            [self.target.upload_id, self.target.run_id],
        )

    def drop(self, cursor) -> None:
        """Drop the temp tables this store created."""
        for table, created in ((STAGE, self.has_stage), (COUNTS, self.has_counts)):
            if created:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")

    def _create(self, cursor, table: str, *, key: bool) -> None:
        boolean = "boolean" if self.postgres else "integer"
        if key:
            columns = f"identity varchar(40) PRIMARY KEY, outcome smallint, flaky {boolean}"
        else:
            columns = f"""identity varchar(40) NOT NULL, classname text NOT NULL,
                name text NOT NULL, file text NOT NULL, suite text NOT NULL,
                outcome smallint NOT NULL, flaky {boolean} NOT NULL,
                attempts integer NOT NULL, duration double precision NOT NULL,
                message text NOT NULL, category_id bigint NOT NULL"""
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMP TABLE {table} ({columns})")
        if not key and not self.postgres:
            # SQLite has no hash join: without this its joins on identity are
            # quadratic. PostgreSQL hashes the freshly analysed stage instead.
            cursor.execute(f"CREATE INDEX {table}_identity ON {table} (identity)")

    # -- one chunk ---------------------------------------------------------------------

    def write_chunk(self, cursor, rows: list[list], *, merge_counts: bool, plain: bool) -> None:
        """Stage `rows` (one per identity) and merge them into tests and results.

        `merge_counts` also merges them into the counts table; `plain` promises that
        none of them can conflict with an existing result (no ON CONFLICT needed).
        """
        self._load_stage(cursor, rows)
        if merge_counts:
            cursor.execute(
                f"""INSERT INTO {COUNTS} (identity, outcome, flaky)
                SELECT identity, outcome, flaky FROM {STAGE} WHERE 1 = 1
                ON CONFLICT (identity) DO UPDATE SET {_outcome_sets(COUNTS)}"""
            )
        self._upsert_tests(cursor)
        self._upsert_results(cursor, plain=plain)

    def counts(self, cursor, *, source: str = COUNTS) -> Counts:
        """Return the counts of the counts table (or, for a single chunk, the stage)."""
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

    def _load_stage(self, cursor, rows: list[list]) -> None:
        if self.postgres:
            cursor.execute(f"TRUNCATE {STAGE}")
            with cursor.copy(f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
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
            [self.target.project_id, timezone.now(), self.target.project_id],
        )
        # A test first seen without its file path gets it once a report names it.
        cursor.execute(
            f"""UPDATE ingest_test SET file = s.file FROM {STAGE} s
            WHERE ingest_test.project_id = %s AND ingest_test.identity = s.identity
              AND ingest_test.file = '' AND s.file <> ''""",
            [self.target.project_id],
        )

    def _upsert_results(self, cursor, *, plain: bool) -> None:
        # Speculative insertion (ON CONFLICT) costs about a third more than a plain
        # insert, so a run's first chunk skips it when nothing can conflict.
        conflict = "" if plain else self._on_conflict()
        t = self.target
        cursor.execute(
            f"""INSERT INTO ingest_result (run_id, test_id, upload_id, category_id,
                category_forced, outcome, flaky, attempts, duration, message)
            SELECT %s, t.id, %s, s.category_id, %s, s.outcome, s.flaky, s.attempts,
                s.duration, s.message
            FROM {STAGE} s JOIN ingest_test t
              ON t.project_id = %s AND t.identity = s.identity
            WHERE 1 = 1 ORDER BY t.id {conflict}""",
            [t.run_id, t.upload_id, t.category_forced, t.project_id],
        )

    def _on_conflict(self) -> str:
        return f"""ON CONFLICT (run_id, test_id) DO UPDATE SET
                {_merge_sets("ingest_result", self.least)},
                category_id = CASE WHEN excluded.category_forced
                                   AND NOT ingest_result.category_forced
                              THEN excluded.category_id ELSE ingest_result.category_id END,
                category_forced = (ingest_result.category_forced OR excluded.category_forced)"""
