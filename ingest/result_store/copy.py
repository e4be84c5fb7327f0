# Only module constants are interpolated into SQL; every value is a query parameter.
"""PostgreSQL fast path: COPY a chunk straight into ``ingest_test`` and ``ingest_result``.

Most chunks hold only results that no other part of the run has written: then there is
nothing to merge in SQL, and COPY into the real tables is the cheapest write
PostgreSQL has (no staging table, no INSERT … SELECT joins, no speculative insertion).
Per chunk: find the known tests' ids (``test_ids.TestIds``), take ids for the new
tests from the table's sequence, COPY the new tests, and COPY the results sorted by
test id (so that the (test, run) index is filled in one sweep).

The chunk runs inside a savepoint. A unique violation means a result of this run
already exists (another part, or a repeat of a test from an earlier chunk) or another
upload created one of the new tests meanwhile: the chunk is rolled back and
``write`` returns False, and the caller merges it with the set-based path instead.
"""

import datetime as dt

import psycopg.errors

from .rows import (
    I_ATTEMPTS,
    I_CATEGORY,
    I_CLASSNAME,
    I_DURATION,
    I_FILE,
    I_FLAKY,
    I_IDENTITY,
    I_MESSAGE,
    I_NAME,
    I_OUTCOME,
    I_SUITE,
    Target,
)
from .test_ids import TestIds

SAVEPOINT = "pl_copy_chunk"
# Violations that mean "merge instead"; any other error is real.
MERGE_CONSTRAINTS = frozenset({"test_unique_identity", "result_unique_run_test"})
TEST_COLUMNS = "id, project_id, identity, classname, name, file, suite, first_seen_at"
# Binary COPY: the types must be the columns' own (bigint ids, smallint outcome…).
TEST_TYPES = ("int8", "int8", "varchar", "text", "text", "text", "text", "timestamptz")
RESULT_TYPES = ("int8", "int8", "int8", "int8", "bool", "int2", "bool", "int2", "float8", "text")
RESULT_COLUMNS = (
    "run_id, test_id, upload_id, category_id, category_forced, "
    "outcome, flaky, attempts, duration, message"
)


class CopyStore:
    """Write chunks of one upload with COPY through a psycopg cursor."""

    def __init__(self, target: Target, *, first_seen_at: dt.datetime):
        self.target = target
        self.first_seen_at = first_seen_at
        self._sequence: str | None = None
        self._test_ids = TestIds(project_id=target.project_id)

    def write(self, cursor, rows: list[list], *, more_coming: bool) -> bool:
        """Write `rows` (one per identity); return False, having written nothing, when
        one of them must be merged with an existing row instead."""
        cursor.execute(f"SAVEPOINT {SAVEPOINT}")
        try:
            ids = self._test_ids.resolve(cursor, rows, more_coming=more_coming)
            self._create_tests(cursor, rows, ids)
            self._copy_results(cursor, rows, ids)
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name not in MERGE_CONSTRAINTS:
                raise
            cursor.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
            cursor.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
            return False
        cursor.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
        return True

    def _create_tests(self, cursor, rows: list[list], ids: list[int]) -> None:
        """COPY the tests whose id is 0 in `ids` and put their new ids there."""
        new = [i for i, test_id in enumerate(ids) if not test_id]
        if not new:
            return
        cursor.execute(
            "SELECT string_agg(nextval(%s)::text, ' ') FROM generate_series(1, %s)",
            [self._test_sequence(cursor), len(new)],
        )
        # Ids in report order: the next run of the same report then arrives sorted.
        new_ids = sorted(map(int, cursor.fetchone()[0].split()))
        for i, test_id in zip(new, new_ids, strict=True):
            ids[i] = test_id
        project_id, seen = self.target.project_id, self.first_seen_at
        # Rows in identity order: the unique (project, identity) index is then filled in
        # one sweep, about a third faster than in random order.
        new_by_identity = sorted(new, key=lambda i: rows[i][I_IDENTITY])
        with cursor.copy(f"COPY ingest_test ({TEST_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(TEST_TYPES)
            for i in new_by_identity:
                row = rows[i]
                copy.write_row(
                    (
                        ids[i],
                        project_id,
                        row[I_IDENTITY],
                        row[I_CLASSNAME],
                        row[I_NAME],
                        row[I_FILE],
                        row[I_SUITE],
                        seen,
                    )
                )
        self._test_ids.learn([rows[i][I_IDENTITY] for i in new], new_ids)

    def _copy_results(self, cursor, rows: list[list], ids: list[int]) -> None:
        # In test id order, so that the (test, run) index is filled in one sweep.
        order = sorted(range(len(rows)), key=ids.__getitem__)
        target = self.target
        run_id, upload_id, forced = target.run_id, target.upload_id, target.category_forced
        with cursor.copy(
            f"COPY ingest_result ({RESULT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(RESULT_TYPES)
            write_row = copy.write_row
            for i in order:
                row = rows[i]
                # Items named one by one: half the cost of unpacking a slice, per result.
                write_row(
                    (
                        run_id,
                        ids[i],
                        upload_id,
                        row[I_CATEGORY],
                        forced,
                        row[I_OUTCOME],
                        row[I_FLAKY],
                        row[I_ATTEMPTS],
                        row[I_DURATION],
                        row[I_MESSAGE],
                    )
                )

    @property
    def preloaded(self) -> bool:
        return self._test_ids.preloaded

    def drop(self, cursor) -> None:
        """Drop the temp table this store created."""
        self._test_ids.drop(cursor)

    def _test_sequence(self, cursor) -> str:
        """Return the name of ingest_test's id sequence."""
        if self._sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence('ingest_test', 'id')")
            self._sequence = cursor.fetchone()[0]
        return self._sequence
