"""Start passline's production shape from a checkout and talk to it like a user.

Used by ``benchmarks/pipeline.py``. Only processes, HTTP, management commands and the
broker are touched, never passline's Python modules, so the same code measures any
revision of the checkout it runs in.

- `Shape`: a scratch PostgreSQL database (created, migrated, dropped), gunicorn on a
  free 127.0.0.1 port, Celery worker(s) and beat, all in their own process groups.
- `Http`: a tiny stdlib client (one connection per request, as gunicorn's sync
  workers close every connection anyway).
- `QueueProbe`: ready-message counts of named queues; RabbitMQ through a passive
  ``queue.declare`` (no management plugin needed), Redis through ``LLEN``.
"""

import contextlib
import gzip
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from benchmarks.common import proc_stat, stat_cpu_seconds

# The queues agreed for passline (ingest, derive, maintenance) plus Celery's default, so
# that the same command line serves code that routes tasks and code that does not yet.
QUEUES = ("ingest", "derive", "maintenance", "celery")
# kombu's Redis transport keeps a message of priority p > 0 in "<queue>\x06\x16<p>".
REDIS_PRIORITY_SEP = "\x06\x16"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(server_url: str, name: str) -> str:
    """Return `server_url` with its database replaced by `name`."""
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    """Drop the database of `url` (forcing other sessions out), then create it again."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


# --- HTTP -----------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]
    cookies: dict[str, str]

    def json(self):
        return json.loads(self.body)


class Http:
    """Requests to one host:port; every call opens a new connection."""

    def __init__(self, host: str, port: int, *, timeout: float = 120.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            answer = conn.getresponse()
            data = answer.read()
            cookies = {}
            for name, value in answer.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    cookies[key.strip()] = rest.split(";", 1)[0]
            headers_out = {k.lower(): v for k, v in answer.getheaders()}
            return Response(answer.status, data, headers_out, cookies)
        finally:
            conn.close()

    def get_json(self, path: str, *, token: str, timeout: float | None = None):
        """GET `path` with a Bearer token; return the decoded JSON, or raise on non-200."""
        response = self.request(
            "GET", path, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {response.body[:200]!r}")
        return response.json()


def multipart(fields: dict[str, str], files: list[tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """Return (body, content type) of a multipart/form-data request."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for filename, data, content_type in files:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
        )
        chunks.append(data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def gzip_report(xml: bytes) -> bytes:
    """Compress a report the way passline-upload does (level 6, no timestamp)."""
    return gzip.compress(xml, compresslevel=6, mtime=0)


def upload_post(http: Http, *, token: str, gz: bytes, fields: dict[str, str]) -> Response:
    """POST one gzipped report as passline-upload sends it (multipart, Idempotency-Key)."""
    body, content_type = multipart(fields, [("junit.xml.gz", gz, "application/gzip")])
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": content_type,
        "Idempotency-Key": uuid.uuid4().hex,
    }
    return http.request("POST", "/api/v1/uploads", body=body, headers=headers)


# --- broker queues --------------------------------------------------------------------


class QueueProbe:
    """Count the ready messages of `queues` on the broker at `url` (amqp:// or redis://)."""

    def __init__(self, url: str, queues=QUEUES) -> None:
        self.url, self.queues = url, tuple(queues)
        self.kind = "redis" if url.startswith(("redis://", "rediss://")) else "amqp"
        self._client = None

    def _redis(self):
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self.url, socket_timeout=5)
        return self._client

    def _amqp(self):
        if self._client is None:
            from kombu import Connection

            self._client = Connection(self.url, connect_timeout=5)
            self._client.connect()
        return self._client

    def _redis_keys(self, queue: str) -> list[str]:
        return [queue] + [f"{queue}{REDIS_PRIORITY_SEP}{p}" for p in range(1, 10)]

    def lengths(self) -> dict[str, int | None]:
        """Return {queue: ready messages}; None for a queue the broker does not have."""
        if self.kind == "redis":
            client = self._redis()
            return {q: sum(client.llen(k) for k in self._redis_keys(q)) for q in self.queues}
        out: dict[str, int | None] = {}
        conn = self._amqp()
        for queue in self.queues:
            channel = conn.channel()
            try:
                out[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except Exception:  # 404: the queue was never declared (a closed channel)
                out[queue] = None
            finally:
                with contextlib.suppress(Exception):  # the server may have closed it
                    channel.close()
        return out

    def purge(self) -> None:
        """Empty the queues (and, on Redis, kombu's unacked store) of this namespace.

        A message left by an earlier, interrupted benchmark names an upload id of a
        database that no longer exists; in the fresh one it would name another upload.
        """
        if self.kind == "redis":
            client = self._redis()
            keys = [k for q in self.queues for k in self._redis_keys(q)]
            client.delete(*keys, "unacked", "unacked_index", "unacked_mutex")
            return
        conn = self._amqp()
        for queue in self.queues:
            channel = conn.channel()
            try:
                channel.queue_declare(queue=queue, passive=True)
                channel.queue_purge(queue)
            except Exception:  # no such queue: nothing to purge
                pass
            finally:
                with contextlib.suppress(Exception):
                    channel.close()

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None


def broker_reachable(url: str) -> str | None:
    """Return None when the broker at `url` answers, else why not."""
    probe = QueueProbe(url, queues=())
    try:
        if probe.kind == "redis":
            probe._redis().ping()
        else:
            probe._amqp()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        probe.close()


# --- processes ------------------------------------------------------------------------


@dataclass
class Shape:
    """The production shape of the checkout `code`, on a scratch database.

    `workers` lists one entry per worker process: (queues, concurrency).
    """

    code: Path
    db_url: str
    broker_url: str
    tmp: Path
    web_workers: int = 3
    workers: list[tuple[str, int]] = field(default_factory=lambda: [(",".join(QUEUES), 2)])
    beat: bool = True
    cache_url: str | None = None
    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    port: int = 0

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "passline.settings",
            "DATABASE_URL": self.db_url,
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "MEDIA_ROOT": str(self.tmp / "media"),
            "PASSLINE_VAR_DIR": str(self.tmp / "var"),
            # Pages are not measured here: serve static files without collecting them
            # (the admin's sign-in page needs them, DEBUG off, no manifest).
            "STATICFILES_STORAGE_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CONN_MAX_AGE": "60",
            # Plain HTTP on loopback: compose puts a TLS proxy in front instead.
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            "PYTHONUNBUFFERED": "1",
        }
        if self.cache_url:
            env["CACHE_URL"] = self.cache_url
        return env

    def manage(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        """Run ``manage.py`` in the checkout; return its stdout (raise with its stderr)."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.code,
            env={**self.env(), **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            cwd=self.code,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches every child
        )
        self.processes.append((name, process))

    def start(self) -> Http:
        """Start gunicorn, the worker(s) and beat; return a client once /healthz answers."""
        self.port = free_port()
        self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "passline.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.web_workers),
            ],
        )
        for number, (queues, concurrency) in enumerate(self.workers, start=1):
            self._spawn(
                f"worker{number}",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "passline",
                    "worker",
                    "-Q",
                    queues,
                    "--concurrency",
                    str(concurrency),
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"bench{number}-{uuid.uuid4().hex[:8]}@%h",
                    "--loglevel",
                    os.environ.get("LOG_LEVEL", "WARNING"),
                ],
            )
        if self.beat:
            self._spawn(
                "beat",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "passline",
                    "beat",
                    "--scheduler",
                    "django_celery_beat.schedulers:DatabaseScheduler",
                    "--pidfile",
                    str(self.tmp / "beat.pid"),
                    "--loglevel",
                    os.environ.get("LOG_LEVEL", "WARNING"),
                ],
            )
        http = Http("127.0.0.1", self.port)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if http.request("GET", "/healthz", timeout=5).status == 200:
                    return http
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer /healthz within 90 s; see {self.tmp}")

    def check_alive(self) -> None:
        """Raise when a started process has exited (with the tail of its log)."""
        for name, process in self.processes:
            if process.poll() is not None:
                tail = (self.tmp / f"{name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def rss_mb(self) -> dict[str, float]:
        """Return the resident memory (MB) of each started process group's processes."""
        out = {}
        for name, process in self.processes:
            total = 0
            for pid in _group_pids(process.pid):
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
                except OSError:
                    continue
            out[name] = total / 1024
        return out

    def cpu_seconds(self) -> dict[str, float]:
        """Return the CPU seconds (user + system) used so far by each process group's
        live processes, and by this host's PostgreSQL server processes ("postgres")."""
        groups = {process.pid: name for name, process in self.processes}
        out = dict.fromkeys([*groups.values(), "postgres"], 0.0)
        for _, command, fields in _processes():  # one pass over /proc for all of them
            seconds = stat_cpu_seconds(fields)
            group = groups.get(int(fields[2]))  # field 5 of stat: the process group id
            if group is not None:
                out[group] += seconds
            if command == "postgres":
                out["postgres"] += seconds
        return out

    def stop(self) -> None:
        """Stop every started process group: SIGTERM, then SIGKILL after 15 s."""
        for _, process in self.processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for _, process in self.processes:
            _signal_group(process, signal.SIGKILL)  # stragglers and orphaned children
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        self.processes.clear()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)  # the group was created by start_new_session


def _processes() -> Iterator[tuple[int, str, list[str]]]:
    """Yield (pid, command name, stat fields after it) of every process of this host."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None:  # None: it ended meanwhile
                yield int(entry.name), *stat


def _group_pids(pgid: int) -> list[int]:
    # Field 5 of stat: the process group id.
    return [pid for pid, _, fields in _processes() if int(fields[2]) == pgid]


def query(path: str, **params) -> str:
    """Return `path` with `params` as its query string."""
    return f"{path}?{urlencode(params)}" if params else path
