"""passline settings, read from environment variables.

With no environment at all, passline runs on the embedded default: SQLite and raw
uploads under ``var/``, Celery tasks executed eagerly in-process. Setting
``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (RabbitMQ, ``amqp://``; Redis
also works) gives the production shape. Every limit on uploaded input is a
``PASSLINE_*`` variable with a safe default.
"""

import datetime as dt
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from passline import queues

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PASSLINE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
)

DEBUG = env("DEBUG")
# A built-in key is public, so it only serves DEBUG=1 on a laptop (`make run`); with DEBUG
# off (production, the default) passline refuses to start without SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and DEBUG is off: passline refuses to start with a "
            "built-in key. Set SECRET_KEY to 50+ random characters (python3 -c "
            '"import secrets; print(secrets.token_urlsafe(50))"), or DEBUG=1 on a laptop.'
        )
    SECRET_KEY = "django-insecure-passline-local-only-key"
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "ingest",
    "dashboard",
    "notify",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "passline.unavailable.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "passline.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "passline.urls"
WSGI_APPLICATION = "passline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# A kept connection is checked (one round trip) before its first use in each request or
# task, so a restarted server costs a reconnect, not an error.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails fast (a 503 for the request) instead of hanging it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=2)
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the dashboard read while an upload is being written. IMMEDIATE: a
    # transaction takes the write lock when it begins, so a writer waits (up to
    # `timeout`) for another thread's write instead of failing with "database is
    # locked" when its read snapshot cannot be upgraded (the upload publisher thread
    # marks uploads dispatched while processing writes results).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Sign-in throttling (django-axes, see passline/accounts.py): after FAILURE_LIMIT failed
# sign-ins for one user name from one address, that pair is refused for LOCKOUT_MINUTES
# (429, templates/registration/locked_out.html); `manage.py axes_reset_username NAME`
# unlocks at once. PASSLINE_LOGIN_LOCKOUT_PARAMETERS lists the keys, comma-separated,
# "+" joining fields of one key: add ",username" to also lock a name from every address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("PASSLINE_LOGIN_FAILURE_LIMIT", default=10)
PASSLINE_LOGIN_LOCKOUT_MINUTES = env.int("PASSLINE_LOGIN_LOCKOUT_MINUTES", default=60)
AXES_COOLOFF_TIME = dt.timedelta(minutes=PASSLINE_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [
    key.split("+")
    for key in env.list("PASSLINE_LOGIN_LOCKOUT_PARAMETERS", default=["username+ip_address"])
]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every manage.py command; failures are still logged
AXES_LOCKOUT_CALLABLE = "passline.accounts.lockout_response"
AXES_CLIENT_IP_CALLABLE = "passline.accounts.client_ip"
# Proxies in front of passline that append to X-Forwarded-For (compose: the TLS proxy).
PASSLINE_PROXY_HOPS = env.int(
    "PASSLINE_PROXY_HOPS", default=1 if env.bool("BEHIND_TLS_PROXY", default=False) else 0
)
# Email, for password reset: EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587.
# Without it no mail can be sent, so the password-reset pages are not offered at all.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="passline@localhost")
PASSLINE_PASSWORD_RESET = bool(EMAIL_URL)
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
# Tests and runserver serve from the finders; production serves the collected manifest.
WHITENOISE_USE_FINDERS = DEBUG

# Security: strict by default in production; the README documents each variable.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
# The container health probe talks plain HTTP to gunicorn from inside the container.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every response (passline/csp.py): no inline scripts anywhere.
# PASSLINE_CSP replaces the whole policy (e.g. to add a report-uri); empty turns it off.
PASSLINE_CSP = env.str(
    "PASSLINE_CSP",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
)
# Celery: every task has a time limit (seconds), so no input can hold a worker for ever:
# the soft limit raises SoftTimeLimitExceeded inside the task (it fails and logs; an upload
# is then retried like a crashed one), the hard limit kills the worker child. A task may
# set lower limits of its own; a message carries its sender's limits, so web, worker and
# beat share these values. Enforced by the prefork pool (the default), not in eager mode.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=CELERY_TASK_SOFT_TIME_LIMIT + 60)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must exceed CELERY_TASK_SOFT_TIME_LIMIT.")

# Shared cache (per-token upload rate limits): in-process by default; set CACHE_URL,
# e.g. redis://redis:6379/1, when several web processes must share the counts.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://passline")}

# Celery: eager in-process when no broker is configured (the embedded default).
# Production uses RabbitMQ (amqp://, py-amqp): real acknowledgements, so a killed
# worker's unacknowledged message is redelivered at once, and durable queues.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=False)
# A task is acknowledged only after it finishes, so a worker killed mid-parse leaves the
# message on the broker and another worker retries it.
CELERY_TASK_ACKS_LATE = True
# Celery's Django fixup closes every database connection before and after each task
# unless this is set (celery#9824 stopped it honouring CONN_MAX_AGE): each task then
# paid a new PostgreSQL backend. passline.celery closes connections around tasks the
# way Django does around requests (CONN_MAX_AGE, errors, health checks); the fixup
# only recycles them every this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Survive broker restarts: retry connecting at start-up and after a lost connection,
# for ever, and notice a dead connection within about two heartbeats.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_HEARTBEAT = env.int("CELERY_BROKER_HEARTBEAT", default=20)
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=4.0)
CELERY_WORKER_CONSUMER = "passline.celery:PromptReconnectConsumer"
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # Publisher confirms: a publish counts (dispatched_at is set) once the broker has it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", 3600)
    }
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The upload dispatcher (ingest.dispatcher): publishes what the web could not, and
# takes over uploads whose processing heartbeat went stale.
PASSLINE_DISPATCH_SECONDS = env.int("PASSLINE_DISPATCH_SECONDS", default=20)
# The sweeps that finish what an outage interrupted: derive passes (derive_sweep), run
# feedback and deliveries (feedback_sweep, deliveries_sweep).
PASSLINE_SWEEP_INTERVAL_SECONDS = env.int("PASSLINE_SWEEP_INTERVAL_SECONDS", default=60)
# Three queues (passline/queues.py): ingest, derive, maintenance. One worker may consume
# all three (`celery -A passline worker -Q ingest,derive,maintenance`).
PASSLINE_QUEUE_PREFIX = env.str("PASSLINE_QUEUE_PREFIX", default="")
CELERY_TASK_ROUTES = queues.task_routes(PASSLINE_QUEUE_PREFIX)
CELERY_TASK_DEFAULT_QUEUE = PASSLINE_QUEUE_PREFIX + queues.MAINTENANCE
# Periodic tasks (seconds). Each feature adds its own entries to this one dict.
CELERY_BEAT_SCHEDULE = {
    "retention-prune": {"task": "ingest.maintenance_tasks.retention_prune", "schedule": 6 * 3600},
    "uploads-dispatch": {
        "task": "ingest.maintenance_tasks.uploads_dispatch",
        "schedule": PASSLINE_DISPATCH_SECONDS,
        # Runs that piled up while no worker consumed are worthless: the next one will do.
        "options": {"expire_seconds": PASSLINE_DISPATCH_SECONDS},
    },
    "runs-complete-quiet": {"task": "ingest.tasks.runs_complete_quiet", "schedule": 5 * 60},
    "trends-refresh": {"task": "dashboard.tasks.trends_refresh_all", "schedule": 15 * 60},
    "derive-sweep": {
        "task": "dashboard.tasks.derive_sweep",
        "schedule": PASSLINE_SWEEP_INTERVAL_SECONDS,
        "options": {"expire_seconds": PASSLINE_SWEEP_INTERVAL_SECONDS},
    },
    "test-stats-refresh": {"task": "dashboard.tasks.test_stats_refresh_all", "schedule": 3600},
    "deliveries-sweep": {
        "task": "notify.tasks.deliveries_sweep",
        "schedule": PASSLINE_SWEEP_INTERVAL_SECONDS,
        "options": {"expire_seconds": PASSLINE_SWEEP_INTERVAL_SECONDS},
    },
    "feedback-sweep": {
        "task": "notify.tasks.feedback_sweep",
        "schedule": PASSLINE_SWEEP_INTERVAL_SECONDS,
        "options": {"expire_seconds": PASSLINE_SWEEP_INTERVAL_SECONDS},
    },
    "quarantines-expire": {"task": "dashboard.tasks.quarantines_expire", "schedule": 3600},
    "digest-weekly": {"task": "dashboard.tasks.digests_weekly_send", "schedule": 7 * 24 * 3600},
}
CELERY_TIMEZONE = "UTC"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ingest.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "passline API",
    "DESCRIPTION": "Upload JUnit XML from CI and read pass-rate progress.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Limits on uploaded input. Sizes in bytes.
PASSLINE_MAX_UPLOAD_BYTES = env.int("PASSLINE_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
PASSLINE_MAX_DECOMPRESSED_BYTES = env.int(
    "PASSLINE_MAX_DECOMPRESSED_BYTES", default=500 * 1024 * 1024
)
PASSLINE_MAX_FILES_PER_UPLOAD = env.int("PASSLINE_MAX_FILES_PER_UPLOAD", default=50)
PASSLINE_MAX_TESTCASES = env.int("PASSLINE_MAX_TESTCASES", default=2_000_000)
PASSLINE_MAX_NAME_LENGTH = env.int("PASSLINE_MAX_NAME_LENGTH", default=1000)
PASSLINE_MAX_MESSAGE_LENGTH = env.int("PASSLINE_MAX_MESSAGE_LENGTH", default=4000)
PASSLINE_MAX_DEPTH = env.int("PASSLINE_MAX_DEPTH", default=32)
# Every XML element (or go test -json line) counts; bounds the time of an element flood.
PASSLINE_MAX_ELEMENTS = env.int("PASSLINE_MAX_ELEMENTS", default=10_000_000)
# Longest single text handed to the readers (CDATA section, JSON string or line); longer
# text is cut while streaming (results kept, a warning recorded), never refused.
PASSLINE_MAX_TEXT_BYTES = env.int("PASSLINE_MAX_TEXT_BYTES", default=1024 * 1024)
# A CODEOWNERS file larger than this is refused (GitHub ignores files over 3 MB).
PASSLINE_CODEOWNERS_MAX_BYTES = env.int("PASSLINE_CODEOWNERS_MAX_BYTES", default=3 * 1024 * 1024)
PASSLINE_UPLOAD_RATE_PER_MINUTE = env.int("PASSLINE_UPLOAD_RATE_PER_MINUTE", default=6000)
PASSLINE_RUN_QUIET_MINUTES = env.int("PASSLINE_RUN_QUIET_MINUTES", default=60)
# A queued upload published this long ago and still not picked up is published again
# (a message the broker lost).
PASSLINE_STUCK_UPLOAD_MINUTES = env.int("PASSLINE_STUCK_UPLOAD_MINUTES", default=15)
# Processing writes a heartbeat this often; one older than the timeout means stuck.
PASSLINE_HEARTBEAT_SECONDS = env.int("PASSLINE_HEARTBEAT_SECONDS", default=10)
PASSLINE_HEARTBEAT_TIMEOUT_SECONDS = env.int("PASSLINE_HEARTBEAT_TIMEOUT_SECONDS", default=45)
# The dispatcher leaves a fresh, unpublished upload this long to the web's own publisher.
PASSLINE_DISPATCH_GRACE_SECONDS = env.int("PASSLINE_DISPATCH_GRACE_SECONDS", default=10)
# Upload tokens may add parts to a completed run for this long after its completion.
PASSLINE_RUN_REOPEN_MINUTES = env.int("PASSLINE_RUN_REOPEN_MINUTES", default=60)
PASSLINE_MAX_UPLOAD_ATTEMPTS = env.int("PASSLINE_MAX_UPLOAD_ATTEMPTS", default=5)
PASSLINE_RAW_RETENTION_DAYS = env.int("PASSLINE_RAW_RETENTION_DAYS", default=90)
PASSLINE_RESULT_RETENTION_DAYS = env.int("PASSLINE_RESULT_RETENTION_DAYS", default=365)
# The address users reach passline at (e.g. https://passline.example.com): links in
# verdicts, the uploader's output, PR comments and messages are absolute with it
# (relative paths when empty).
PASSLINE_BASE_URL = env.str("PASSLINE_BASE_URL", default="")
PASSLINE_TREND_WINDOW_DAYS = env.int("PASSLINE_TREND_WINDOW_DAYS", default=30)
PASSLINE_FLAKY_WINDOW_DAYS = env.int(
    "PASSLINE_FLAKY_WINDOW_DAYS", default=PASSLINE_TREND_WINDOW_DAYS
)
# Denominator watch: a run is "incomplete" when its total is below this fraction of the
# median total of the last LOOKBACK complete runs, or a category present in at least
# CATEGORY_SHARE of those runs has no results.
PASSLINE_INCOMPLETE_TOTAL_RATIO = env.float("PASSLINE_INCOMPLETE_TOTAL_RATIO", default=0.5)
PASSLINE_INCOMPLETE_LOOKBACK_RUNS = env.int("PASSLINE_INCOMPLETE_LOOKBACK_RUNS", default=10)
PASSLINE_INCOMPLETE_CATEGORY_SHARE = env.float("PASSLINE_INCOMPLETE_CATEGORY_SHARE", default=0.8)
# Derived figures: tests per transaction of the hourly per-test stats rebuild, and the
# age after which a trend refresh's claim is presumed dead and taken over.
# Flaky tests (docs/flaky.md): a quarantine's default length in days.
PASSLINE_QUARANTINE_DAYS = env.int("PASSLINE_QUARANTINE_DAYS", default=30)
PASSLINE_TEST_STATS_BATCH = env.int("PASSLINE_TEST_STATS_BATCH", default=20_000)
PASSLINE_TREND_CLAIM_STALE_SECONDS = env.int("PASSLINE_TREND_CLAIM_STALE_SECONDS", default=600)
# A trend refresh is sent this many seconds after it is asked for, so that a stream of
# completions costs one refresh per interval (dashboard.derive.coalesce); 0 sends at once.
PASSLINE_TREND_REFRESH_DELAY_SECONDS = env.int("PASSLINE_TREND_REFRESH_DELAY_SECONDS", default=2)
# Derive passes (dashboard.derive.backlog): completed runs derived together per project,
# at most this many runs and (unless one run alone is bigger) results per pass.
PASSLINE_DERIVE_BATCH = env.int("PASSLINE_DERIVE_BATCH", default=100)
PASSLINE_DERIVE_BATCH_RESULTS = env.int("PASSLINE_DERIVE_BATCH_RESULTS", default=200_000)
# The fold pass (per-test stats, flaky signals) is sent PASSLINE_FOLD_YIELD_SECONDS after
# it is asked for, and again as late while an upload of its project is queued or
# processing, until its oldest run has waited PASSLINE_FOLD_YIELD_MAX_SECONDS (0: never
# waits for uploads).
PASSLINE_FOLD_YIELD_SECONDS = env.int("PASSLINE_FOLD_YIELD_SECONDS", default=1)
PASSLINE_FOLD_YIELD_MAX_SECONDS = env.int("PASSLINE_FOLD_YIELD_MAX_SECONDS", default=10)
# A pass whose worker died is taken over after this; the sweep asks again for requests
# older than PASSLINE_DERIVE_SWEEP_SECONDS and records complete runs started within the
# lookback that were never recorded.
PASSLINE_DERIVE_CLAIM_STALE_SECONDS = env.int("PASSLINE_DERIVE_CLAIM_STALE_SECONDS", default=120)
PASSLINE_DERIVE_SWEEP_SECONDS = env.int("PASSLINE_DERIVE_SWEEP_SECONDS", default=30)
PASSLINE_DERIVE_SWEEP_LOOKBACK_HOURS = env.int("PASSLINE_DERIVE_SWEEP_LOOKBACK_HOURS", default=24)
# Feedback (notify): credentials are encrypted with PASSLINE_SECRETS_KEY (comma-separated,
# first encrypts; falls back to SECRET_KEY). Deliveries to loopback, private and
# link-local addresses (webhooks and forge APIs) are refused unless allowed here.
PASSLINE_SECRETS_KEY = env.str("PASSLINE_SECRETS_KEY", default="")
PASSLINE_WEBHOOK_ALLOW_PRIVATE = env.bool("PASSLINE_WEBHOOK_ALLOW_PRIVATE", default=False)
PASSLINE_NOTIFY_TIMEOUT_SECONDS = env.float("PASSLINE_NOTIFY_TIMEOUT_SECONDS", default=10.0)
PASSLINE_NOTIFY_MAX_ATTEMPTS = env.int("PASSLINE_NOTIFY_MAX_ATTEMPTS", default=8)
PASSLINE_WEBHOOK_DISABLE_AFTER = env.int("PASSLINE_WEBHOOK_DISABLE_AFTER", default=20)
# Django refuses request bodies larger than this before reading them; uploads use the
# streaming limit above instead, so only ordinary form posts are affected.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=None)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# LOG_FORMAT=json gives one JSON object per line; the default is key=value pairs. Both
# carry ids passed with ``extra=`` (upload_id, run_id, project_id).
LOG_FORMAT = "json" if env.str("LOG_FORMAT", default="kv").lower() == "json" else "kv"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "kv": {"()": "passline.logging.KeyValueFormatter"},
        "json": {"()": "passline.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Swagger UI and Redoc assets come from drf-spectacular-sidecar: no CDN.
SPECTACULAR_SETTINGS.update(
    {
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    }
)
