"""Services of the fault tests' own: a RabbitMQ node, a PostgreSQL cluster, passline processes.

The fault tests stop and kill these, never the machine's shared servers: each service
runs on free ports in a temporary folder and is removed afterwards. The passline
processes are the production shape: gunicorn, a Celery worker (prefork) consuming the
agreed queues, and beat with the database scheduler.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO_ROOT

QUEUES = "ingest,derive,maintenance,notify,celery"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def wait_until(predicate, *, timeout: float, what, logs: list[Path] = (), step=0.1):
    """Poll `predicate` until it returns a truthy value; fail with the logs' tails.

    `what` names what was awaited: a text, or a callable asked for it at failure time
    (to show the state that was not reached)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    tails = "\n".join(
        f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}"
        for log in logs
        if log.exists()
    )
    if callable(what):
        what = what()
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tails}")


class Process:
    """A subprocess in its own session (so the whole group can be signalled), logging to a file."""

    def __init__(self, command: list[str], *, env: dict, log: Path, cwd: Path = REPO_ROOT):
        self.log = log
        self.command = command
        self.popen = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL the process and everything it started."""
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)  # a warm shutdown, children included
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        # Children that outlived their parent (a prefork pool) go too.
        self.signal_group(signal.SIGKILL)


def _binary(name: str, *candidates: str) -> str | None:
    for path in candidates:
        if Path(path).is_file():
            return path
    return shutil.which(name)


class RabbitNode:
    """A RabbitMQ node of the test's own: own node name, ports, epmd, data and logs."""

    SERVER = ("/usr/lib/rabbitmq/bin/rabbitmq-server",)

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.server = _binary("rabbitmq-server", *self.SERVER)
        (root / "enabled_plugins").write_text("[].\n")
        self.env = {
            **os.environ,
            "HOME": str(root),  # its own Erlang cookie
            "RABBITMQ_NODENAME": f"passline-fault-{uuid.uuid4().hex[:8]}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(root / "log"),
            "RABBITMQ_PID_FILE": str(root / "rabbit.pid"),
            "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq"),  # none: the defaults
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
        }
        self.epmd: Process | None = None
        self.process: Process | None = None
        self.log = root / "rabbitmq.log"

    @property
    def available(self) -> bool:
        return self.server is not None and shutil.which("epmd") is not None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self, timeout: float = 60) -> float:
        """Start the node; return the seconds until it accepts connections."""
        started = time.monotonic()
        if self.epmd is None:
            self.epmd = Process(
                ["epmd", "-port", str(self.epmd_port)], env=self.env, log=self.root / "epmd.log"
            )
        self.process = Process([self.server], env=self.env, log=self.log)
        wait_until(lambda: port_open(self.port), timeout=timeout, what="RabbitMQ", logs=[self.log])
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=30)
            wait_until(lambda: not port_open(self.port), timeout=30, what="RabbitMQ to stop")

    def close(self) -> None:
        self.stop()
        if self.epmd is not None:
            self.epmd.stop()


class PostgresCluster:
    """A PostgreSQL cluster of the test's own (initdb + pg_ctl), on a free port."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="passline-fault-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.initdb = _binary("initdb")
        self.pg_ctl = _binary("pg_ctl")
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: run its tools as the postgres user.
            shutil.chown(self.root, user="postgres")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    @property
    def available(self) -> bool:
        return self.initdb is not None and self.pg_ctl is not None

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_postgres, *command], check=True, capture_output=True)

    def init(self) -> None:
        self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"
        )

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def passline_env(*, database_url: str, broker_url: str, media_root: Path, **extra: str) -> dict:
    """Return the environment of a production-shape passline process for the tests."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PASSLINE_", "CELERY_", "DATABASE_", "CACHE_", "DJANGO_"))
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "fault-test-" + "k" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "MEDIA_ROOT": str(media_root),
            # Tests never run collectstatic; pages render from the finders.
            "STATICFILES_STORAGE_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "LOG_LEVEL": "INFO",
            **extra,
        }
    )
    return env


class Stack:
    """gunicorn + worker + beat of passline on the given database and broker."""

    def __init__(self, *, env: dict, root: Path):
        self.env = env
        self.root = root
        self.port = free_port()
        self.web: Process | None = None
        self.workers: list[Process] = []
        self.beat: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def logs(self) -> list[Path]:
        return sorted(self.root.glob("*.log"))

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def start_web(self) -> None:
        command = [sys.executable, "-m", "gunicorn", "passline.wsgi:application"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--timeout", "60"]
        self.web = Process(command, env=self.env, log=self.root / "web.log")
        wait_until(lambda: port_open(self.port), timeout=60, what="gunicorn", logs=self.logs)

    def start_worker(self) -> Process:
        name = f"fault{len(self.workers)}-{uuid.uuid4().hex[:6]}@localhost"
        command = [sys.executable, "-m", "celery", "-A", "passline", "worker", "-Q", QUEUES]
        command += ["--pool=prefork", "--concurrency=1", "-n", name, "--loglevel=INFO"]
        command += ["--without-gossip", "--without-mingle"]
        worker = Process(command, env=self.env, log=self.root / f"worker{len(self.workers)}.log")
        self.workers.append(worker)
        return worker

    def start_beat(self) -> None:
        command = [sys.executable, "-m", "celery", "-A", "passline", "beat", "--loglevel=INFO"]
        command += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
        command += ["--pidfile", str(self.root / "beat.pid")]
        self.beat = Process(command, env=self.env, log=self.root / "beat.log")

    def close(self) -> None:
        for process in [self.web, self.beat, *self.workers]:
            if process is not None:
                process.stop()


@dataclass
class Answer:
    status: int
    seconds: float
    body: bytes
    headers: dict

    def json(self) -> dict:
        return json.loads(self.body)


def request(url: str, *, data: bytes | None = None, headers: dict | None = None) -> Answer:
    """Send one request; return its answer (any status) and how long it took."""
    started = time.monotonic()
    req = urllib.request.Request(
        url, data=data, headers=headers or {}, method="POST" if data else "GET"
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            body, status, hdrs = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        body, status, hdrs = error.read(), error.code, dict(error.headers)
    return Answer(status, time.monotonic() - started, body, hdrs)


def report(cases: int, *, prefix: str = "t") -> bytes:
    """Return a JUnit report of `cases` testcases, one in ten failing."""
    rows = []
    for i in range(cases):
        inner = '<failure message="no">x</failure>' if i % 10 == 3 else ""
        rows.append(f'<testcase classname="f.C{i % 7}" name="{prefix}{i}">{inner}</testcase>')
    return ('<?xml version="1.0"?><testsuite name="f">' + "".join(rows) + "</testsuite>").encode()


def post_report(base: str, token: str, xml: bytes, *, run: str) -> Answer:
    return request(
        f"{base}/api/v1/uploads?run={run}&final=true",
        data=xml,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
    )


class Uploader:
    """POST reports as CI would, remembering each accepted upload's test count."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url, token
        self.expected: dict[int, int] = {}  # upload id -> testcases sent

    def post(self, cases: int) -> Answer:
        """POST a report of `cases` tests as a run of its own; it must be accepted (202)."""
        answer = post_report(self.url, self.token, report(cases), run=uuid.uuid4().hex[:12])
        assert answer.status == 202, answer.body
        self.expected[answer.json()["id"]] = cases
        return answer

    def baseline(self, *, cases: int, count: int) -> list[Answer]:
        """Return `count` healthy POSTs, after 4 that warm the web workers up (not counted)."""
        for _ in range(4):
            self.post(cases)
        return [self.post(cases) for _ in range(count)]


def latency_summary(answers: list[Answer], *, baseline: list[Answer]) -> str:
    """Return p50/max of the answers' latency, against the healthy `baseline` answers."""
    seconds = [a.seconds for a in answers]
    healthy = [a.seconds for a in baseline]
    slowest = max(range(len(seconds)), key=seconds.__getitem__)
    p50, base = statistics.median(seconds), statistics.median(healthy)
    return (
        f"n={len(seconds)} p50={p50 * 1000:.0f} ms max={max(seconds) * 1000:.0f} ms "
        f"(request #{slowest + 1}); healthy baseline n={len(healthy)} "
        f"p50={base * 1000:.0f} ms max={max(healthy) * 1000:.0f} ms; p50 ratio {p50 / base:.2f}"
    )


def record(name: str, line: str) -> None:
    """Print a measurement (shown with -s) and append it to the CI artifacts, if any."""
    text = f"[fault:{name}] {line}"
    print(text, file=sys.__stdout__, flush=True)
    folder = os.environ.get("PASSLINE_TEST_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with (Path(folder) / "fault-measurements.txt").open("a") as out:
            out.write(text + "\n")
