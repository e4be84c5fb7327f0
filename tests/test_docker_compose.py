"""docker-compose.yml is the production shape, and every command in it resolves in the code.

No Docker engine exists on the development machines, so this test is what keeps the
compose file honest: module paths, settings, env names, volumes and health checks.
"""

import ast
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from celery.beat import Scheduler
from celery.utils.imports import symbol_by_name
from django.core.management import get_commands
from django.urls import resolve
from gunicorn.util import import_app

from passline.queues import DERIVE, INGEST, MAINTENANCE, NOTIFY, QUEUES
from tests.test_deploy_check import documented_env

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
WORKERS = ("worker", "worker-derive", "worker-maintenance", "notifier")
APP_SERVICES = ("migrate", "web", *WORKERS, "beat")
# Read by programs other than passline/settings.py.
OTHER_READERS = {"DJANGO_SETTINGS_MODULE": "django", "WEB_CONCURRENCY": "gunicorn"}
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def command_args(service: str) -> list[str]:
    command = SERVICES[service]["command"]
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def option(args: list[str], *names: str) -> str:
    for index, arg in enumerate(args):
        if arg in names:
            return args[index + 1]
    raise AssertionError(f"none of {names} in {args}")


def resolved(value: str) -> str:
    """Return ``value`` with ${VAR:-default} replaced by its default (required -> 'x')."""
    return INTERPOLATION.sub(lambda m: m.group(3) if m.group(2) == "-" else "x", str(value))


def settings_env_names() -> set[str]:
    """Return every variable name passline/settings.py passes to django-environ."""
    tree = ast.parse((REPO_ROOT / "passline" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = ast.unparse(node.func)
        first = node.args[0]
        if (func.startswith("env") or func.startswith("environ.Env(")) and (
            isinstance(first, ast.Constant) and isinstance(first.value, str)
        ):
            names.add(first.value)
    for node in ast.walk(tree):  # environ.Env(DEBUG=(bool, False), ...) declarations
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "environ.Env":
            names.update(keyword.arg for keyword in node.keywords if keyword.arg)
    return names


def test_has_the_production_services():
    assert set(SERVICES) >= {"postgres", "rabbitmq", "redis", "web", *WORKERS, "beat", "migrate"}
    assert SERVICES["postgres"]["image"].startswith("postgres:16")
    assert SERVICES["rabbitmq"]["image"].startswith("rabbitmq:3")
    assert SERVICES["redis"]["image"].startswith("redis:7")


def test_app_services_share_one_image_built_from_the_repo():
    images = {SERVICES[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    for name in APP_SERVICES:
        assert SERVICES[name]["build"] == "."


def test_web_runs_gunicorn_on_the_wsgi_application():
    args = command_args("web")
    assert args[0] == "gunicorn"
    target = next(arg for arg in args[1:] if ":" in arg and not arg[0].isdigit())
    assert target == "passline.wsgi:application"
    assert callable(import_app(target))
    assert option(args, "--bind", "-b") == "0.0.0.0:8000"


@pytest.mark.parametrize(
    ("service", "subcommand"), [*((w, "worker") for w in WORKERS), ("beat", "beat")]
)
def test_celery_services_name_a_real_celery_app(service, subcommand):
    args = command_args(service)
    assert args[0] == "celery"
    app = find_app(option(args, "-A", "--app"))
    assert isinstance(app, Celery)
    assert app.main == "passline"
    assert subcommand in args


def test_beat_uses_the_database_scheduler_that_imports():
    scheduler = symbol_by_name(option(command_args("beat"), "--scheduler", "-S"))
    assert issubclass(scheduler, Scheduler)
    assert scheduler.__module__ == "django_celery_beat.schedulers"


def test_migrate_runs_once_before_the_app_services():
    args = command_args("migrate")
    assert args[:3] == ["python", "manage.py", "migrate"]
    assert "--noinput" in args
    assert (REPO_ROOT / "manage.py").is_file()
    assert "migrate" in get_commands()
    assert SERVICES["migrate"].get("restart") == "no"


@pytest.mark.parametrize("service", ["web", *WORKERS, "beat"])
def test_app_services_wait_for_healthy_backends_and_migrations(service):
    depends = SERVICES[service]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["rabbitmq"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_env_names_are_read_by_the_settings_and_settings_module_exists(service):
    env = SERVICES[service]["environment"]
    known = settings_env_names() | set(OTHER_READERS)
    unknown = sorted(set(env) - known)
    assert unknown == [], f"{service} sets variables nothing reads: {unknown}"
    assert importlib.util.find_spec(env["DJANGO_SETTINGS_MODULE"]) is not None
    for required in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS"):
        assert required in env
    assert resolved(env["DEBUG"]) == "0"


def test_settings_env_reader_finds_known_names():
    # Guards the AST walk above: if it found nothing, the previous test would be vacuous.
    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "MEDIA_ROOT", "LOG_FORMAT"} <= (
        settings_env_names()
    )


def test_urls_point_at_the_compose_services():
    env = SERVICES["web"]["environment"]
    postgres = SERVICES["postgres"]["environment"]
    database = resolved(env["DATABASE_URL"])
    user, db = postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]
    assert database == f"postgres://{user}:x@postgres:5432/{db}"
    rabbitmq = SERVICES["rabbitmq"]["environment"]
    broker = resolved(env["CELERY_BROKER_URL"])
    user, vhost = rabbitmq["RABBITMQ_DEFAULT_USER"], rabbitmq["RABBITMQ_DEFAULT_VHOST"]
    assert broker == f"amqp://{user}:x@rabbitmq:5672/{vhost}"
    assert "${RABBITMQ_PASSWORD:?" in rabbitmq["RABBITMQ_DEFAULT_PASS"]
    assert "${RABBITMQ_PASSWORD:?" in env["CELERY_BROKER_URL"]
    assert resolved(env["CACHE_URL"]).startswith("redis://redis:6379/")
    # The same required variable feeds both the server and the client.
    assert "${POSTGRES_PASSWORD:?" in postgres["POSTGRES_PASSWORD"]
    assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]


def test_secrets_are_required_not_defaulted():
    env = SERVICES["web"]["environment"]
    for name in ("SECRET_KEY", "ALLOWED_HOSTS"):
        assert env[name].startswith(f"${{{name}:?"), f"{name} must be required"


def test_raw_upload_volume_is_shared_by_web_and_workers_at_media_root():
    # The web stores raw uploads, the ingest worker parses them, the maintenance worker
    # prunes them and re-categorises from them.
    readers = ("worker", "worker-maintenance")
    media_root = SERVICES["web"]["environment"]["MEDIA_ROOT"]
    mounts = {}
    for service in ("web", *readers):
        assert SERVICES[service]["environment"]["MEDIA_ROOT"] == media_root
        volumes = [v.split(":") for v in SERVICES[service]["volumes"]]
        mounts[service] = {source for source, target, *_ in volumes if target == media_root}
    assert mounts["web"] and all(mounts[w] == mounts["web"] for w in readers)
    assert mounts["web"] <= set(COMPOSE["volumes"]), "must be a named volume"


def worker_queues(service: str) -> list[str]:
    return option(command_args(service), "-Q", "--queues").split(",")


def test_workers_consume_every_queue_and_each_queue_has_its_own_worker():
    consumed = [queue for service in WORKERS for queue in worker_queues(service)]
    assert sorted(consumed) == sorted(QUEUES), "each queue consumed by exactly one service"
    assert [worker_queues(w) for w in WORKERS] == [[INGEST], [DERIVE], [MAINTENANCE], [NOTIFY]]


def test_every_task_and_beat_entry_routes_to_a_consumed_queue():
    app = find_app("passline")
    app.loader.import_default_modules()
    consumed = {queue for service in WORKERS for queue in worker_queues(service)}
    router = app.amqp.Router()
    routed = {
        name: router.route({}, name)["queue"].name
        for name in app.tasks
        if not name.startswith("celery.")
    }
    assert set(routed.values()) <= consumed
    assert routed["ingest.tasks.upload_process"] == INGEST
    assert routed["dashboard.tasks.run_stats_update"] == DERIVE
    assert routed["dashboard.tasks.run_completed_refresh"] == DERIVE
    assert routed["dashboard.tasks.trend_refresh"] == DERIVE
    beat = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert beat and {routed[task] for task in beat} == {MAINTENANCE}


def test_health_checks_cover_backends_web_and_worker():
    def test_of(service):
        check = SERVICES[service]["healthcheck"]["test"]
        return " ".join(check) if isinstance(check, list) else check

    assert "pg_isready" in test_of("postgres")
    assert "redis-cli ping" in test_of("redis")
    assert "rabbitmq-diagnostics -q ping" in test_of("rabbitmq")
    web = test_of("web")
    assert "python -m passline.ops" in web
    assert importlib.util.find_spec("passline.ops") is not None
    path = re.search(r"http://127\.0\.0\.1:8000(/\S*)", web).group(1)
    assert resolve(path).url_name == "healthz"
    for service in WORKERS:
        check = test_of(service)
        node = option(command_args(service), "-n", "--hostname").replace("%h", "$$HOSTNAME")
        assert "-A passline inspect ping" in check
        # Pings this worker's own node name; $$ so compose leaves it for the shell.
        assert f"-d {node} " in check


def test_web_port_is_published_on_loopback_unless_configured():
    (mapping,) = SERVICES["web"]["ports"]
    assert mapping.startswith("${PASSLINE_BIND:-127.0.0.1}:")
    host, port, target = resolved(mapping).split(":")
    assert (host, port, target) == ("127.0.0.1", "8000", "8000")
    for name in ("worker", "beat", "migrate", "postgres", "redis"):
        assert "ports" not in SERVICES.get(name, {}), f"{name} must not publish a port"


def test_security_defaults_match_the_documented_production_env():
    env = {k: resolved(v) for k, v in SERVICES["web"]["environment"].items()}
    documented = documented_env()
    for name in (
        "DEBUG",
        "BEHIND_TLS_PROXY",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    ):
        assert env[name] == documented[name], name


def test_dockerfile_installs_the_package_collects_static_and_drops_root():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "pip install ." in dockerfile
    assert "manage.py collectstatic --noinput" in dockerfile
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user and user[-1] not in ("root", "0")
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", ".env"} <= set(ignored)
