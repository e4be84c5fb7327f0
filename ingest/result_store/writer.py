"""ResultWriter: collect one upload's records in chunks and write each chunk.

Records are handled in chunks so memory stays flat for huge reports; duplicates inside
a chunk are merged in Python (``rows.merge_row``). On PostgreSQL a chunk is written by
a helper thread on the same connection while the caller parses the next one, so the
server does its work on the second core while Python parses; the last chunk (the only
one of a small report) is written by the caller, with nothing left to overlap. Chunks go through the
COPY fast path (``copy.CopyStore``) until one holds a result that must be merged with
an existing row; from then on the upload is written with the set-based path
(``setbased.SetBasedStore``), which SQLite always uses.

The caller owns the transaction: everything here must run inside ``atomic()``.
"""

from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connections
from django.utils import timezone

from .copy import CopyStore
from .rows import MAX_ATTEMPTS, Counts, Target, merge_row, rows_count
from .setbased import STAGE, SetBasedStore

_INFINITY = float("inf")
CHUNK_SIZE = 25_000
# PostgreSQL: the first chunk is smaller, so that the server starts writing while the
# rest is parsed instead of idling through the first 25,000 records. In paired runs of
# a 100k report it is neutral (0.999, 10 pairs): the writer, not the start, sets the
# pace. It costs nothing either, and a slower parser (gzip, long messages) gains.
FIRST_CHUNK_SIZE = 5_000


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
        first_chunk_size: int = FIRST_CHUNK_SIZE,
        using: str = "default",
        run_has_results: bool = True,
    ):
        """`run_has_results=False` promises that no other writer can add results to
        the run before this transaction commits (the caller holds a run lock) and that
        it has none yet: SQLite then inserts the first chunk without conflict handling
        (PostgreSQL finds conflicts by itself)."""
        self.chunk_size = chunk_size
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        # Without the helper thread (SQLite) there is nothing to overlap.
        self._limit = min(chunk_size, first_chunk_size) if self.postgres else chunk_size
        target = Target(
            project_id=project_id,
            run_id=run_id,
            upload_id=upload_id,
            category_forced=category_forced,
        )
        self._set_based = SetBasedStore(target, postgres=self.postgres)
        self._copy: CopyStore | None = None
        if self.postgres:
            self._copy = CopyStore(target, first_seen_at=timezone.now())
        self._copied = Counts()
        self._chunk: dict[str, list] = {}
        self._chunks = 0
        self._plain_first = not run_has_results
        self._pending: Future | None = None
        # Started with the first chunk flushed before the end: a report of one chunk
        # (most uploads) has nothing to overlap and never starts a thread.
        self._executor: ThreadPoolExecutor | None = None
        if not self.postgres:
            with self.connection.cursor() as cursor:
                self._set_based.create_stage(cursor)

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
        """Stage one record; a repeated identity is merged with the earlier one.

        `duration` is in seconds; a negative or non-finite one is stored as 0.
        """
        if not 0.0 <= duration < _INFINITY:  # also catches NaN
            duration = 0.0
        if not 0 < attempts <= MAX_ATTEMPTS:
            attempts = 1 if attempts < 1 else MAX_ATTEMPTS
        row = [
            identity,
            classname,
            name,
            file,
            suite,
            outcome,
            bool(flaky),
            attempts,
            duration,
            message,
            category_id,
        ]
        chunk = self._chunk
        existing = chunk.setdefault(identity, row)  # one lookup for the common new test
        if existing is not row:
            merge_row(existing, row)
        elif len(chunk) >= self._limit:
            self._flush(last=False)

    def finish(self) -> Counts:
        """Write what is left; return this upload's counts. Drops the temp tables."""
        self._flush(last=True)
        self._wait()
        store = self._set_based
        with self._cursor() as cursor:
            if self._copy is not None:
                # Still on the COPY path: no row was merged, the chunks' counts add up.
                counts = self._copied
                self._copy.drop(cursor)
            elif store.has_counts:
                counts = store.counts(cursor)
            else:
                # One chunk needs no cross-chunk merge: count straight from the stage.
                counts = store.counts(cursor, source=STAGE)
            store.drop(cursor)
        self.close()
        return counts

    @property
    def merging(self) -> bool:
        """Whether chunks are now written with the set-based path."""
        return self._copy is None

    @property
    def preloaded(self) -> bool:
        """Whether the COPY path holds a map of the project's tests (see test_ids)."""
        return self._copy is not None and self._copy.preloaded

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
        self._limit = self.chunk_size
        self._wait()
        self._chunks += 1
        if self.postgres and not last:
            # The helper thread writes this chunk while the caller parses the next.
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1)
            self._pending = self._executor.submit(self._write_chunk, rows, last)
        elif self.postgres:
            # The last chunk has nothing left to overlap with: write it here, mapping
            # driver errors to Django's as ``_wait`` does for the helper's.
            with self.connection.wrap_database_errors:
                self._write_chunk(rows, last)
        else:
            self._write_chunk(rows, last)

    @contextmanager
    def _cursor(self):
        if self.postgres:
            # The helper thread uses the driver connection directly: Django binds its
            # wrapper to the thread that opened it. Only one thread uses it at a time.
            with self.connection.connection.cursor() as cursor:
                yield cursor
        else:
            with self.connection.cursor() as cursor:
                yield cursor

    def _write_chunk(self, rows: list[list], last: bool) -> None:
        if not rows:
            # An empty report, or one that ended right after a full chunk: nothing to
            # write, and finish() counts zero from what is already there.
            return
        store = self._set_based
        with self._cursor() as cursor:
            if self._copy is not None:
                # Preloading the project's tests pays off only when a full chunk has
                # more after it; the small first chunk does not decide it.
                full = len(rows) >= self.chunk_size
                if self._copy.write(cursor, rows, more_coming=full and not last):
                    self._copied += rows_count(rows)
                    return
                # A result to merge: from here on merge in SQL, counts included.
                self._copy.drop(cursor)
                self._copy = None
                store.create_stage(cursor)
                store.create_counts(cursor)
                store.seed_counts_from_upload(cursor)
                store.write_chunk(cursor, rows, merge_counts=True, plain=False)
                return
            single = last and self._chunks == 1
            if not single and not store.has_counts:
                store.create_counts(cursor)
            plain = self._plain_first and self._chunks == 1
            store.write_chunk(cursor, rows, merge_counts=not single, plain=plain)
