"""loaddemo with a broker configured: it loads in-process and never needs a worker."""

from django.core.management import call_command

from dashboard import demo
from dashboard.models import RunStats
from ingest.models import Project, Upload
from passline.celery import app


def test_loaddemo_runs_tasks_in_process_when_a_broker_is_configured(transactional_db, monkeypatch):
    full = demo.demo_history
    monkeypatch.setattr(
        demo, "demo_history", lambda *, now: [r for r in full(now=now) if r.key in ("1001", "1003")]
    )
    sent = []

    def send_task(*args, **kwargs):  # what a non-eager .delay() would call
        sent.append(args)
        raise AssertionError("loaddemo must not send tasks to the broker")

    monkeypatch.setattr(app, "send_task", send_task)
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False  # as with CELERY_BROKER_URL set
    try:
        call_command("loaddemo")
        assert app.conf.task_always_eager is False  # restored afterwards
    finally:
        app.conf.task_always_eager = previous
    assert sent == []
    project = Project.objects.get(slug="demo")
    assert not Upload.objects.filter(project=project).exclude(status="processed").exists()
    stats = {s.run.key: s for s in RunStats.objects.filter(project=project).select_related("run")}
    assert (stats["1001"].passed, stats["1001"].total) == (523, 738)
    assert stats["1003"].total == 738  # two shards merged into one run
    assert stats["1003"].is_complete
