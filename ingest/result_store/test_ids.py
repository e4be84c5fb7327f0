# Only module constants are interpolated into SQL; every value is a query parameter.
# ruff: noqa: S608
"""Find the ``ingest_test`` ids of one upload's records (PostgreSQL COPY path).

A big upload into a project of at most ``PRELOAD_LIMIT`` tests reads the project's
tests once into a map {identity: id}; the map then answers every chunk without a
query and learns the tests the upload creates. Otherwise (a small upload, a bigger
project, or a map that outgrew the limit) each chunk asks the database: its
identities go into a temp table joined with ``ingest_test``.

A map can miss a test that a concurrent upload created after it was read; the COPY of
that "new" test then violates the unique constraint and the chunk is merged by the
set-based path, so a stale map costs time, never correctness.
"""

from .rows import I_FILE, I_IDENTITY

LOOKUP = "pl_lookup"
# About 35 MB of map at most (identity string, dict slot and id per test).
PRELOAD_LIMIT = 200_000


class TestIds:
    """Resolve identities to test ids for one upload, through one psycopg cursor."""

    __test__ = False  # not a pytest test class

    def __init__(self, *, project_id: int, preload_limit: int = PRELOAD_LIMIT):
        self.project_id = project_id
        self.preload_limit = preload_limit
        self._map: dict[str, int] | None = None
        self._lacking_file: set[str] = set()
        self._decided = False
        self._lookup_created = False

    @property
    def preloaded(self) -> bool:
        return self._map is not None

    def resolve(self, cursor, rows: list[list], *, more_coming: bool) -> list[int]:
        """Return the test id of each row (0 where the test is new); fill missing files.

        `more_coming` says whether full chunks follow: only then is a preload worth
        its cost. It is tried once, on the first chunk that says so.
        """
        if more_coming and not self._decided:
            self._decided = True
            self._preload(cursor)
        if self._map is not None:
            get = self._map.get
            ids = [get(row[I_IDENTITY], 0) for row in rows]
            lacking = self._lacking_file
            positions = (
                [i for i, row in enumerate(rows) if row[I_FILE] and row[I_IDENTITY] in lacking]
                if lacking
                else []
            )
            lacking.difference_update(rows[i][I_IDENTITY] for i in positions)
        else:
            ids, positions = self._look_up(cursor, rows)
        self._fill_files(cursor, [(ids[i], rows[i][I_FILE]) for i in positions])
        return ids

    def learn(self, identities: list[str], ids: list[int]) -> None:
        """Remember tests this upload created; forget the map once it outgrows the limit."""
        if self._map is None:
            return
        self._map.update(zip(identities, ids, strict=True))
        if len(self._map) > self.preload_limit:
            self._map = None
            self._lacking_file = set()

    def drop(self, cursor) -> None:
        """Drop the temp table, if one was made."""
        if self._lookup_created:
            cursor.execute(f"DROP TABLE IF EXISTS {LOOKUP}")

    def _preload(self, cursor) -> None:
        # One text value of identities and one array of ids, both aggregated in the
        # same pass over the same rows (so in the same order): split and zipped in C,
        # far cheaper than a row, or a Python step, per test.
        cursor.execute(
            """SELECT COUNT(*), string_agg(identity, ' '), array_agg(id),
                string_agg(identity, ' ') FILTER (WHERE file = '')
            FROM (SELECT identity, id, file FROM ingest_test WHERE project_id = %s
                  LIMIT %s) t""",
            [self.project_id, self.preload_limit + 1],
        )
        count, identities, ids, lacking = cursor.fetchone()
        if count > self.preload_limit:
            return
        self._map = dict(zip(identities.split(), ids, strict=True)) if identities else {}
        self._lacking_file = set(lacking.split()) if lacking else set()

    def _look_up(self, cursor, rows: list[list]) -> tuple[list[int], list[int]]:
        """Ask the database; return (ids, positions of known rows whose file is missing)."""
        if self._lookup_created:
            cursor.execute(f"TRUNCATE {LOOKUP}")
        else:
            cursor.execute(
                f"""CREATE TEMP TABLE {LOOKUP}
                (position integer NOT NULL, identity varchar(40) NOT NULL)"""
            )
            self._lookup_created = True
        # Identities are hex digests: COPY text needs no escaping for them.
        with cursor.copy(f"COPY {LOOKUP} (position, identity) FROM STDIN") as copy:
            copy.write("".join([f"{i}\t{row[I_IDENTITY]}\n" for i, row in enumerate(rows)]))
        # One index probe per identity (LIMIT keeps the planner from turning the
        # lateral join into a hash join): its cost follows the chunk, not the project,
        # whose statistics are stale right after a big upload created its tests.
        cursor.execute(
            f"""SELECT string_agg(COALESCE(t.id, 0)::text, ' ' ORDER BY l.position),
                string_agg(l.position::text, ' ') FILTER (WHERE t.file = '')
            FROM {LOOKUP} l LEFT JOIN LATERAL (
                SELECT id, file FROM ingest_test
                WHERE project_id = %s AND identity = l.identity LIMIT 1
            ) t ON true""",
            [self.project_id],
        )
        found, lacking = cursor.fetchone()
        ids = list(map(int, found.split())) if found else []
        positions = [i for i in map(int, lacking.split()) if rows[i][I_FILE]] if lacking else []
        return ids, positions

    def _fill_files(self, cursor, files: list[tuple[int, str]]) -> None:
        """Give known tests without a file path the one this report names."""
        if files:
            cursor.execute(
                """UPDATE ingest_test SET file = v.file
                FROM unnest(%s::bigint[], %s::text[]) AS v(id, file)
                WHERE ingest_test.id = v.id AND ingest_test.file = ''""",
                [[test_id for test_id, _ in files], [file for _, file in files]],
            )
