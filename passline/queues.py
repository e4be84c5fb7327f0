"""Celery queues of passline and the route of every task to one of them.

- ``ingest``: upload processing, so a backlog of derived figures never delays parsing.
- ``derive``: derived figures of a run or project (rollups, flags, per-test stats,
  coalesced trend refreshes).
- ``maintenance``: beat-driven sweeps (stuck uploads, quiet runs, retention, the
  hourly per-test stats rebuild, the trend sweep, the delivery sweep) and bulk
  re-categorising.
- ``notify``: PR comments, commit statuses, webhooks and chat (network-bound: the
  notifier runs a thread pool).

``PASSLINE_QUEUE_PREFIX`` namespaces all three on a broker shared by several
installations (or test runs): workers then consume ``<prefix>ingest`` etc. A task
without a route goes to ``maintenance``, which every deployment consumes.
"""

INGEST = "ingest"
DERIVE = "derive"
MAINTENANCE = "maintenance"
NOTIFY = "notify"
QUEUES = (INGEST, DERIVE, MAINTENANCE, NOTIFY)

# Exact names first (they win over patterns), then patterns in order.
_ROUTES = {
    "ingest.tasks.upload_process": INGEST,
    "ingest.tasks.runs_complete_quiet": MAINTENANCE,
    "ingest.tasks.project_recategorize": MAINTENANCE,
    "dashboard.tasks.trends_refresh_all": MAINTENANCE,
    "dashboard.tasks.derive_sweep": MAINTENANCE,
    "dashboard.tasks.test_stats_refresh_all": MAINTENANCE,
    "dashboard.tasks.test_stats_refresh": MAINTENANCE,
    "dashboard.tasks.quarantines_expire": MAINTENANCE,
    "dashboard.tasks.digests_weekly_send": MAINTENANCE,
    "ingest.maintenance_tasks.*": MAINTENANCE,
    "notify.tasks.deliveries_sweep": MAINTENANCE,
    "notify.tasks.feedback_sweep": MAINTENANCE,
    # Feedback (forges, webhooks, chat): a slow or dead receiver never holds up ingest
    # or derived figures.
    "notify.tasks.*": NOTIFY,
    "dashboard.tasks.*": DERIVE,
    "ingest.tasks.*": INGEST,
}


def queue_names(prefix: str = "") -> list[str]:
    """Return the names of the queues with ``prefix``: ingest, derive, maintenance, notify."""
    return [prefix + name for name in QUEUES]


def task_routes(prefix: str = "") -> dict[str, dict[str, str]]:
    """Return Celery ``task_routes`` sending each task to its queue, named with ``prefix``."""
    return {task: {"queue": prefix + queue} for task, queue in _ROUTES.items()}
