"""Helpers shared by the benchmark scripts."""

from urllib.parse import urlsplit, urlunsplit


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist (no-op otherwise)."""
    if not url.startswith("postgres"):
        return
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def calibration_ms(repeat: int = 3) -> float:
    """Milliseconds of a fixed pure-Python workload (best of `repeat`).

    Shared virtual machines can run two or three times slower from one hour to the
    next; printing this beside a benchmark's figures tells whether two runs can be
    compared at all (a real change moves the figures, not this).
    """
    import time

    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i % 7
        best = min(best, time.perf_counter() - started)
    return best * 1000


class BackendCpu:
    """CPU seconds used by the PostgreSQL backend of a Django connection, if local.

    Reads /proc/<backend pid>/stat, so it only works when the server runs on this
    host and is readable; otherwise `seconds()` returns None.
    """

    def __init__(self, connection) -> None:
        import os

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self._path = f"/proc/{cursor.fetchone()[0]}/stat"
        self._ticks = os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float | None:
        try:
            with open(self._path) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self._ticks  # utime + stime
