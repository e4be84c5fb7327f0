"""Helpers shared by the benchmark scripts."""

import os
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


def autovacuum_note(url: str) -> str | None:
    """Return a warning when the server at `url` runs without autovacuum, else None.

    Without it no table is ever analysed: a benchmark's fresh database keeps the
    planner's default estimates (a 100k-result run taken for a few rows), and plans
    differ from a production server's, which has autovacuum on by default.
    """
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            setting = conn.execute("SHOW autovacuum").fetchone()[0]
    except psycopg.Error:
        return None
    if setting == "on":
        return None
    return (
        "NOTE: this PostgreSQL server runs with autovacuum off: its tables are never "
        "analysed, so plans rest on default estimates (production servers have it on)"
    )


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


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> tuple[str, list[str]] | None:
    """Return (command name, the fields after it) of /proc/<pid>/stat, or None when the
    process is gone or unreadable. The name is in parentheses and may hold spaces."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            head, _, rest = stat.read().rpartition(")")
    except OSError:
        return None
    return head.partition("(")[2], rest.split()


def stat_cpu_seconds(fields: list[str]) -> float:
    """CPU seconds (user + system) of the `proc_stat` fields of a process."""
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


class BackendCpu:
    """CPU seconds used by the PostgreSQL backend of a Django connection, if local.

    Reads /proc/<backend pid>/stat, so it only works when the server runs on this
    host and is readable; otherwise `seconds()` returns None.
    """

    def __init__(self, connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self._pid = cursor.fetchone()[0]

    def seconds(self) -> float | None:
        stat = proc_stat(self._pid)
        return None if stat is None else stat_cpu_seconds(stat[1])
