"""Rerun elements and repeated testcases count as attempts (docs/junit.md, "Retries").

Own fixture (tests/fixtures/junit/retries-repeated.xml) through the real ingest path
into Result rows; then the corpus files that carry retries, each with what it becomes.
"""

from pathlib import Path

import pytest

from ingest.models import Result, Upload
from ingest.processing import upload_process
from ingest.services.uploads import IncomingReport, upload_create
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"
PASSED, FAILED, ERROR = Result.Outcome.PASSED, Result.Outcome.FAILED, Result.Outcome.ERROR


def _ingest(path) -> Upload:
    with path.open("rb") as stream:
        report = IncomingReport(
            filename=path.name,
            content_type="application/xml",
            stream=stream,
            size=path.stat().st_size,
        )
        upload = upload_create(project=ProjectFactory(), reports=[report], run_key="r1")
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.PROCESSED, upload.error
    return upload


def _results(upload: Upload) -> dict[str, tuple]:
    return {
        name: (outcome, flaky, attempts)
        for name, outcome, flaky, attempts in Result.objects.filter(run=upload.run).values_list(
            "test__name", "outcome", "flaky", "attempts"
        )
    }


def test_repeated_testcases_and_rerun_elements_become_attempts():
    upload = _ingest(FIXTURES / "retries-repeated.xml")
    assert _results(upload) == {
        "pays with card": (PASSED, True, 3),
        "test_migrate": (ERROR, False, 2),
        "test_ping": (PASSED, False, 2),
        "test_backup": (PASSED, False, 2),
        "rerunsOnly": (PASSED, True, 2),
        "failWhenFlaky": (FAILED, False, 3),
        "mixed": (PASSED, True, 3),
    }
    # One result per test, whatever the attempts: counts are of tests, not attempts.
    assert (upload.tests, upload.passed, upload.failed, upload.errors) == (7, 5, 1, 1)
    assert upload.flaky == 3
    pays = Result.objects.get(run=upload.run, test__name="pays with card")
    assert pays.duration == pytest.approx(6.0)  # every attempt's CI time
    assert pays.message.startswith("Timeout 5000ms exceeded")


# (corpus file, {test name: (outcome, flaky, attempts)}) for the tests with retries.
CORPUS = [
    (
        "handcrafted/flaky-and-rerun-with-nested-output.xml",
        {"experimentsWithJavaElements": (PASSED, True, 3), "testGetBundle": (FAILED, False, 3)},
    ),
    (
        "handcrafted/retries-as-repeated-testcases.xml",
        # Same name, another classname: another test, which ran once.
        {"test_foo.TestFoo::test_foo": (PASSED, True, 3), "test_bar.TestBar::test_foo": (1, 0, 1)},
    ),
    ("handcrafted/surefire-style-rerun-errors.xml", {"searchTest": (ERROR, False, 4)}),
    ("marathon/marathon-flakyFailure.xml", {"testFlakyFailure": (PASSED, True, 2)}),
    (
        "maven-surefire/TEST-MyIntegrationTestSuite.xml",
        {"testGetMails": (PASSED, True, 2), "shouldReturnSuccessResponse": (PASSED, True, 2)},
    ),
    ("maven-surefire/TEST-io.olamy.AlwaysFailTest.xml", {"testApp": (FAILED, False, 4)}),
    ("maven-surefire/TEST-io.olamy.FlakyTest.xml", {"testApp": (PASSED, True, 3)}),
    ("maven-surefire/TEST-org.acme.FlakyTest.xml", {"testFlaky": (PASSED, True, 5)}),
    ("maven-surefire/mikepenz-flakyFailure.xml", {"createWebhook": (PASSED, True, 2)}),
    (
        "nextest-quick-junit/basic_report.xml",
        {
            "testcase4": (PASSED, True, 3),
            "testcase5": (FAILED, False, 3),
            "testcase7": (FAILED, False, 3),
        },
    ),
]


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_retries(corpus_dir, path, expected):
    upload = _ingest(corpus_dir / "files" / path)
    results = {
        f"{classname}::{name}": (outcome, flaky, attempts)
        for classname, name, outcome, flaky, attempts in Result.objects.filter(
            run=upload.run
        ).values_list("test__classname", "test__name", "outcome", "flaky", "attempts")
    }

    def wanted(key: str) -> bool:
        return key in expected or key.split("::", 1)[1] in expected

    found = {
        (k if k in expected else k.split("::", 1)[1]): v for k, v in results.items() if wanted(k)
    }
    assert found == expected
    # Every other test of the file ran once.
    assert {v[2] for k, v in results.items() if not wanted(k)} <= {1}
