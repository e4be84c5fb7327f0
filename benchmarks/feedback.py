"""Benchmark how soon a PR comment and a chat message leave passline after a run completes.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passline_notify \\
    CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/notify \\
        .venv/bin/python benchmarks/feedback.py [-n 20] [--interval 1.0]

The production shape: gunicorn serving the upload API, a Celery worker on
``ingest,derive,maintenance,celery`` and a notifier worker on ``notify`` (16 threads, as in
docker-compose.yml), PostgreSQL and the broker. Local servers on 127.0.0.1 play GitHub
(``tests/notify/servers.FakeGitHub``) and a Slack incoming webhook, and record when each
request arrives.

Each of ``-n`` runs is a pull-request run of two parts (each a 200-testcase report); the
second part is ``final=true``. Measured per run:

- completion -> message: the first GitHub request (the sticky comment) and the Slack
  message, minus the run's ``completed_at`` (budget: p95 <= 5 s);
- last part's upload -> message: the same arrival minus the start of the last part's
  POST (budget: <= 10 s).

Scenario "hung receiver" adds a webhook to a server that accepts connections and never
answers (each delivery to it costs the 10 s timeout): the figures of the healthy
receivers should not move, nor should ingest's (last POST -> completed).

The baseline, measured in the same run, is a direct POST from this process to the same
local Slack server (the network and HTTP floor); ratios are against it.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import ensure_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passline.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/passline_notify")
os.environ.setdefault("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/notify")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="pl-feedback-bench-"))
os.environ.setdefault("PASSLINE_WEBHOOK_ALLOW_PRIVATE", "1")
os.environ.setdefault("PASSLINE_UPLOAD_RATE_PER_MINUTE", "1000000")
os.environ.setdefault("PASSLINE_BASE_URL", "https://passline.example.com")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"


def report(part: int, cases: int = 200) -> bytes:
    rows = []
    for i in range(cases):
        bad = '<failure message="no">x</failure>' if (i + part) % 17 == 0 else ""
        rows.append(f'<testcase classname="bench.P{part}.C{i % 9}" name="t{i}">{bad}</testcase>')
    return f'<testsuite name="p{part}">{"".join(rows)}</testsuite>'.encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, token: str, body: bytes, **query) -> float:
    """POST a raw report; return when the request started (time.time())."""
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    request = urllib.request.Request(
        f"{url}/api/v1/uploads?{qs}",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
    )
    started = time.time()
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202, response.status
        response.read()
    return started


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(label: str, values: list[float], floor_ms: float) -> str:
    if not values:
        return f"  {label:<34} no samples"
    p50, p95 = pct(values, 0.5) * 1000, pct(values, 0.95) * 1000
    return (
        f"  {label:<34} p50 {p50:8.0f} ms  p95 {p95:8.0f} ms  max {max(values) * 1000:8.0f} ms"
        f"  (p95 = {p95 / floor_ms:6.0f} x floor)"
    )


class Hang:
    """Accept connections and never answer (a receiver that is down but listening)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="runs per scenario")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between runs")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from ingest.models import Project, Run
    from ingest.services.tokens import token_create
    from notify import services
    from notify.models import Delivery
    from tests.notify.servers import FakeGitHub, FakeSlack

    slug = f"fb{uuid.uuid4().hex[:8]}"
    project = Project.objects.create(slug=slug, name="Feedback bench", target_bp=9000)
    _, token = token_create(project=project, scope="upload", name="bench")

    logs = Path(tempfile.mkdtemp(prefix="pl-feedback-logs-"))
    env = {**os.environ}
    port = free_port()
    procs = []

    def spawn(name, command):
        log = (logs / f"{name}.log").open("ab")
        procs.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log))

    py = sys.executable
    spawn(
        "web",
        [py, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "2", "passline.wsgi:application"],
    )
    spawn(
        "worker",
        [
            py,
            "-m",
            "celery",
            "-A",
            "passline",
            "worker",
            "-Q",
            "ingest,derive,maintenance,celery",
            "-c",
            "2",
            "-n",
            f"w{slug}@bench",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
        ],
    )
    spawn(
        "notifier",
        [
            py,
            "-m",
            "celery",
            "-A",
            "passline",
            "worker",
            "-Q",
            "notify",
            "-P",
            "threads",
            "-c",
            "16",
            "-n",
            f"n{slug}@bench",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
        ],
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz")
        time.sleep(3)  # workers connect to the broker
        with FakeGitHub() as github, FakeSlack() as slack:
            services.forge_set(
                project=project,
                kind="github",
                repo="acme/bench",
                token=github.token,
                api_url=github.url,
            )
            services.webhook_create(
                project=project, kind="slack", url=f"{slack.url}/s", events=["run.completed"]
            )
            floor = []
            for _ in range(20):
                t0 = time.perf_counter()
                req = urllib.request.Request(f"{slack.url}/s", data=b'{"text":"x"}', method="POST")
                urllib.request.urlopen(req, timeout=5).read()
                floor.append(time.perf_counter() - t0)
            floor_ms = statistics.median(floor) * 1000
            print(
                f"feedback benchmark: {args.n} PR runs per scenario, 2 parts x 200 cases, "
                f"one every {args.interval:g} s"
            )
            print(f"  baseline: direct POST to the local receiver, median {floor_ms:.1f} ms")

            hang = None
            for scenario in ("healthy receivers", "plus a hung receiver"):
                if scenario.startswith("plus"):
                    hang = Hang()
                    services.webhook_create(
                        project=project, kind="generic", url=hang.url, events=["run.completed"]
                    )
                sent = {}
                for i in range(args.n):
                    key = f"{scenario[:4]}-{i}"
                    pr = 100 + i + (1000 if hang else 0)
                    post(base, token, report(1), run=key, branch="feat", commit=f"{i:040x}", pr=pr)
                    sent[key] = (
                        pr,
                        post(
                            base,
                            token,
                            report(2),
                            run=key,
                            branch="feat",
                            commit=f"{i:040x}",
                            pr=pr,
                            final="true",
                        ),
                    )
                    time.sleep(args.interval)
                deadline = time.time() + 60
                while time.time() < deadline:
                    done = Delivery.objects.filter(
                        run__project=project, run__key__in=sent, status="succeeded"
                    ).count()
                    if done >= 2 * len(sent):
                        break
                    time.sleep(0.5)
                completed = dict(
                    Run.objects.filter(project=project, key__in=sent).values_list(
                        "key", "completed_at"
                    )
                )
                comment_at = {}
                for r in github.requests:
                    for key, (pr, _) in sent.items():
                        path = f"/repos/acme/bench/issues/{pr}/comments"
                        if r.path.split("?")[0] == path and key not in comment_at:
                            comment_at[key] = r.at
                slack_at = {}
                for r in slack.requests:
                    text = json.loads(r.body).get("text", "")
                    for key in sent:
                        if f"run {key}\n" in text + "\n" and key not in slack_at:
                            slack_at[key] = r.at
                rows = {"comment": comment_at, "slack": slack_at}
                print(f"\n{scenario}:")
                ingest = [completed[k].timestamp() - sent[k][1] for k in sent if completed.get(k)]
                print(summary("last POST -> run completed", ingest, floor_ms))
                for what, arrivals in rows.items():
                    after_completion = [
                        arrivals[k] - completed[k].timestamp()
                        for k in sent
                        if k in arrivals and completed.get(k)
                    ]
                    after_post = [arrivals[k] - sent[k][1] for k in sent if k in arrivals]
                    print(summary(f"{what}: completed -> sent", after_completion, floor_ms))
                    print(summary(f"{what}: last POST -> sent", after_post, floor_ms))
                    missing = len(sent) - len(arrivals)
                    if missing:
                        print(f"  {what}: {missing} of {len(sent)} runs got no message in 60 s")
                prs = {f"/repos/acme/bench/issues/{pr}/comments" for pr, _ in sent.values()}
                ours = [r for r in github.requests if r.method == "POST" and r.path in prs]
                print(
                    f"  comments created: {len(ours)} for {len(sent)} PRs "
                    f"(one each, edited in place afterwards)"
                )
            if hang:
                hang.close()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(f"\n(logs of web and workers: {logs})")


if __name__ == "__main__":
    main()
