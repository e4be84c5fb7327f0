"""The feedback benchmark still runs end to end (2 runs), so its figures stay real."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import skip_unless_service

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.worker


def test_feedback_benchmark_delivers_every_message_and_prints_the_latencies(
    scratch_database_url,
):
    broker = os.environ.get("CELERY_BROKER_URL", "")
    skip_unless_service(broker.startswith("amqp://"), "the feedback benchmark needs RabbitMQ")
    out = subprocess.run(
        [sys.executable, "benchmarks/feedback.py", "-n", "2", "--interval", "0.2"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": scratch_database_url},
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    assert "baseline: direct POST to the local receiver" in out
    assert out.count("comments created: 2 for 2 PRs") == 2  # both scenarios
    assert "got no message" not in out
    assert len(re.findall(r"completed -> sent +p50 +\d+ ms +p95 +\d+ ms", out)) == 4
