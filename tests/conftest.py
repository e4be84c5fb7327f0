"""Shared pytest fixtures for passline's test suite."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO_ROOT.parent / "shared" / "junit-corpus"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def skip_unless_service(available: bool, reason: str) -> None:
    """Skip a test whose external service is missing, or fail when CI requires it.

    ``.ci/run`` sets PASSLINE_REQUIRE_SERVICES=1 so that a missing broker or browser
    turns CI red instead of silently skipping the tests that need it.
    """
    if available:
        return
    if os.environ.get("PASSLINE_REQUIRE_SERVICES"):
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


# Tests that start servers of their own, spawn workers or run a benchmark take one xdist
# worker between them (`make test` runs `pytest -n auto --dist loadgroup`): they share
# the broker's vhost (the pipeline benchmark purges its queues), scratch databases named
# after DATABASE_URL and, for the benchmarks, the machine's quiet; the rest of the
# suite, which is short and CPU-bound, spreads over the other workers meanwhile.
SERIAL_MARKERS = ("worker", "fault")
SERIAL_MODULE_PREFIX = "test_benchmark"


def _uses_services(item) -> bool:
    serial = any(item.get_closest_marker(name) for name in SERIAL_MARKERS)
    return serial or item.path.name.startswith(SERIAL_MODULE_PREFIX)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if _uses_services(item):
            item.add_marker(pytest.mark.xdist_group("services"))


def pytest_collection_finish(session):
    """Refuse to run when xdist's loadgroup did not put the service tests in their group.

    It marks a grouped test by renaming its node id ("…@services"); a pytest that
    ignores the rename would let two benchmarks share a scratch database (seen: one
    dropped the other's).
    """
    if not getattr(session.config.option, "loadgroup", False):
        return
    lost = [i.nodeid for i in session.items if _uses_services(i) and "@" not in i.nodeid]
    if lost:
        raise pytest.UsageError(f"xdist groups not applied (pytest too new?): {lost[:3]}")


def broker_reachable(url: str) -> bool:
    """Return whether a Celery broker (RabbitMQ or Redis) answers at `url` within 2 s."""
    if not url.startswith(("amqp://", "pyamqp://", "redis://")):
        return False
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@pytest.fixture
def scratch_database_url(request):
    """Return the URL of an empty PostgreSQL database of this test's own, dropped after.

    For benchmark scripts that migrate and fill the database they are given: named after
    DATABASE_URL's database and the test, so that `make test` against a developer's
    database never leaves benchmark projects in it.
    """
    from urllib.parse import urlsplit

    from benchmarks.production_shape import database_url, recreate_database

    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        pytest.skip("the benchmarks measure PostgreSQL; DATABASE_URL is not PostgreSQL")
    base = urlsplit(server).path.lstrip("/")
    name = f"{base}_{request.node.originalname.removeprefix('test_')}"[:63]
    url = database_url(server, name)
    recreate_database(url)
    yield url
    recreate_database(url, drop_only=True)


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Run Celery tasks in-process by default, even when CI exports a broker URL.

    Tests that need a real worker (marked ``worker``) switch this off themselves.
    """
    from passline.celery import app

    previous = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _static_without_manifest(settings):
    """Serve {% static %} from the finders: tests never run collectstatic.

    With DEBUG off (as under tests) the production manifest storage raises for any
    file missing from a manifest that does not exist.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Keep raw uploads written by tests out of the developer's var/ folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def corpus_dir() -> Path:
    """The shared JUnit corpus beside the clone; absent in a user's clone."""
    if not (CORPUS_DIR / "MANIFEST.tsv").is_file():
        pytest.skip(f"JUnit corpus not found at {CORPUS_DIR} (only CI has ../shared)")
    return CORPUS_DIR


@pytest.fixture
def junit_fixture():
    """Return the bytes of a sample report under tests/fixtures/junit/."""

    def read(name: str) -> bytes:
        return (FIXTURES_DIR / "junit" / name).read_bytes()

    return read


@pytest.fixture
def receiver():
    """A generic webhook receiver on 127.0.0.1 that records what it is sent (200 each)."""
    from tests.notify.servers import Receiver

    with Receiver() as server:
        yield server


@pytest.fixture
def deliveries_handed(monkeypatch) -> list[int]:
    """Celery as with a broker: the delivery ids handed to the background publisher.

    Publishing a delivery in the request itself fails the test.
    """
    from notify import tasks
    from passline.celery import app

    handed: list[int] = []
    app.conf.task_always_eager = False  # restored by the autouse _eager_celery fixture
    monkeypatch.setattr(tasks.deliveries, "submit", handed.append)
    monkeypatch.setattr(
        "notify.tasks.delivery_send.apply_async",
        lambda *a, **k: pytest.fail("published in the request"),
    )
    return handed
