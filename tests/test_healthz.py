"""/healthz reports database, broker and storage, and the container probe uses it."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from passline import ops
from passline.celery import app as celery_app
from tests.conftest import skip_unless_service

REPO_ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def redis_available() -> bool:
    return port_open(6379)


@pytest.fixture
def real_broker(monkeypatch):
    """Point the Celery app at a broker URL for one test (not eager)."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.broker_url

    def use(url: str) -> None:
        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_url = url
        # Celery reads CELERY_BROKER_URL from the environment before its own config.
        monkeypatch.setenv("CELERY_BROKER_URL", url)

    yield use
    celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous


def test_reports_ok_with_each_check_on_the_embedded_default(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "eager", "storage": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_storage_probe_leaves_no_file_behind(client, settings):
    client.get("/healthz")
    leftovers = list(Path(settings.MEDIA_ROOT).rglob("*.probe"))
    assert leftovers == []


def test_unwritable_storage_gives_503_without_leaking_details(client, settings, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    settings.MEDIA_ROOT = blocker / "media"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["storage"] == "error"
    assert body["checks"]["database"] == "ok"
    assert "not-a-dir" not in response.content.decode()


def test_database_failure_gives_503(client, monkeypatch):
    from django.db import OperationalError

    def broken() -> str:
        raise OperationalError("could not connect to server")

    monkeypatch.setitem(ops.CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "error"


def test_database_check_runs_a_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert ops.database_check() == "ok"


def test_unreachable_broker_gives_503_quickly(client, real_broker):
    # Port 1 on localhost refuses connections: the check must fail, not hang.
    real_broker("redis://127.0.0.1:1/3")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error"


def test_reachable_redis_broker_is_ok(client, real_broker):
    skip_unless_service(redis_available(), "Redis not reachable at 127.0.0.1:6379")
    real_broker("redis://127.0.0.1:6379/3")
    response = client.get("/healthz")
    assert response.json()["checks"]["broker"] == "ok"
    assert response.status_code == 200


def amqp_url() -> str:
    """The RabbitMQ of the machine: CELERY_BROKER_URL when it is amqp://, else the default."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith("amqp://") else "amqp://guest:guest@127.0.0.1:5672//"


def test_unreachable_amqp_broker_gives_503(client, real_broker):
    real_broker("amqp://guest:guest@127.0.0.1:1//")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error"


def test_reachable_amqp_broker_is_ok(client, real_broker):
    url = amqp_url()
    skip_unless_service(port_open(5672), f"RabbitMQ not reachable at {url}")
    real_broker(url)
    response = client.get("/healthz")
    assert response.json()["checks"]["broker"] == "ok"
    assert response.status_code == 200


def test_only_get_is_allowed(client):
    assert client.post("/healthz").status_code == 405


def test_is_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/schema/").status_code == 301


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("passline.example.com,other", "passline.example.com"),
        (".example.com", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_probe_sends_a_host_that_allowed_hosts_accepts(allowed, host):
    assert ops.probe_host(allowed) == host


@pytest.mark.django_db(transaction=True)
def test_container_probe_exits_0_on_a_healthy_server_and_1_otherwise(live_server):
    command = [sys.executable, "-m", "passline.ops", f"{live_server.url}/healthz"]
    healthy = subprocess.run(
        command,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"ALLOWED_HOSTS": "localhost", "PATH": "/usr/bin:/bin"},
    )
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert '"status": "ok"' in healthy.stdout
    gone = subprocess.run(
        [sys.executable, "-m", "passline.ops", "http://127.0.0.1:1/healthz"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gone.returncode == 1
    assert "unreachable" in gone.stdout
