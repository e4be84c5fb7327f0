"""Every Celery task of passline runs under a soft and a hard time limit."""

import os
import subprocess
import sys
from pathlib import Path

from passline.celery import app

REPO_ROOT = Path(__file__).resolve().parent.parent


def passline_tasks() -> dict:
    app.loader.import_default_modules()  # what a worker imports: every app's tasks module
    return {
        name: task
        for name, task in app.tasks.items()
        if name.split(".")[0] in ("ingest", "dashboard", "passline")
    }


def test_every_task_has_a_soft_and_a_hard_limit():
    tasks = passline_tasks()
    # The per-run and hourly tasks are among them (beat's schedule names them).
    assert {"ingest.tasks.upload_process", "dashboard.tasks.test_stats_refresh_all"} <= set(tasks)
    for name, task in tasks.items():
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        hard = task.time_limit or app.conf.task_time_limit
        assert soft and hard, name
        assert 0 < soft < hard <= 3600, (name, soft, hard)


def test_defaults_and_environment_overrides():
    assert (app.conf.task_soft_time_limit, app.conf.task_time_limit) == (600, 660)
    code = (
        "from django.conf import settings; from passline.celery import app; "
        "print(app.conf.task_soft_time_limit, app.conf.task_time_limit)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "passline.settings"}

    def limits(**overrides) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env={**env, **overrides},
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert limits(CELERY_TASK_SOFT_TIME_LIMIT="30").stdout.split() == ["30", "90"]
    both = limits(CELERY_TASK_SOFT_TIME_LIMIT="30", CELERY_TASK_TIME_LIMIT="45")
    assert both.stdout.split() == ["30", "45"]
    wrong = limits(CELERY_TASK_SOFT_TIME_LIMIT="30", CELERY_TASK_TIME_LIMIT="30")
    assert "CELERY_TASK_TIME_LIMIT must exceed" in wrong.stderr
