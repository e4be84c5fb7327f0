"""passline-upload --gate with a real Celery worker: the verdict waits for derived figures.

Production shape: uploads are processed and their rollups derived by a separate
`celery worker` process over the broker, so the uploader must poll until the verdict
says ``ready`` (the run complete, its rollup computed after completion) before judging
the gate. Needs PostgreSQL and a broker (skipped otherwise, like tests/ingest/
test_worker_e2e.py whose fixtures it uses).
"""

from pathlib import Path

import pytest

from passline_upload import cli
from tests.ingest.test_worker_e2e import (  # noqa: F401 (fixtures)
    Worker,
    broker,
    token,
)
from tests.test_uploader_cli import cli_subprocess

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MAIN = b"""<testsuite name="w">
  <testcase classname="w.C" name="t1"/><testcase classname="w.C" name="t2"/>
  <testcase classname="w.C" name="t3"><failure message="old"/></testcase>
</testsuite>"""
PR = b"""<testsuite name="w">
  <testcase classname="w.C" name="t1"><failure message="new break"/></testcase>
  <testcase classname="w.C" name="t2"/><testcase classname="w.C" name="t3"/>
</testsuite>"""


@pytest.fixture
def worker(broker, settings, tmp_path):  # noqa: F811
    """A worker on this test's queue and on the queues derived-figure tasks go to.

    The worker process routes the tasks it enqueues itself (the rollups after an upload
    is processed) by the production settings: to ``derive``, or Celery's default queue
    while the dashboard's tasks have no route.
    """
    # The broker fixture names the three prefixed queues; the worker consumes them all.
    process = Worker(broker=broker, media_root=Path(settings.MEDIA_ROOT), log=tmp_path / "w.log")
    yield process
    process.stop()


def test_gate_waits_for_the_worker_and_exits_5_on_a_new_failure(
    live_server,
    worker,
    token,  # noqa: F811
    tmp_path,
):
    (tmp_path / "main.xml").write_bytes(MAIN)
    (tmp_path / "pr.xml").write_bytes(PR)
    env = {"PASSLINE_TOKEN": token}
    common = ["--url", live_server.url, "--final", "--wait-timeout", "120"]
    base = cli_subprocess(
        [*common, "--run", "w-main", "--branch", "main", "--gate", "flagged",
         str(tmp_path / "main.xml")],
        env=env,
    )  # fmt: skip
    log = worker.log.read_text(errors="replace")[-2000:]
    assert base.returncode == 0, base.stdout + base.stderr + log
    assert "passline: run w-main (no base run): pass rate 66.7%" in base.stdout
    pr = cli_subprocess(
        [*common, "--run", "w-pr", "--branch", "feature", "--pr", "3",
         "--gate", "new-failures", str(tmp_path / "pr.xml")],
        env=env,
    )  # fmt: skip
    assert pr.returncode == cli.EXIT_GATE_FAILED, pr.stdout + pr.stderr
    assert "against main (w-main): pass rate 66.7% (+0.00 pts); 1 new failure, 1 fixed" in (
        pr.stdout
    )
    assert "w.C::t1 (failed, failing since w-pr, Uncategorized): new break" in pr.stdout
