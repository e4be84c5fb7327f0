"""Every corpus report ingests end to end with an independently counted number of tests.

For each file in ../shared/junit-corpus/MANIFEST.tsv: a valid report (JUnit, or one of
the other formats passline reads: NUnit 2/3, xUnit.net v1/v2, TRX) goes through
upload_create + upload_process (the API's path) and its upload counts must equal a
count made with plain lxml (tests/ingest/corpus.py); a malformed file, or one of a
format passline does not read, must end failed with an error.
"""

from pathlib import Path

import pytest

from ingest.models import Result, Upload
from ingest.processing import upload_process
from ingest.services.uploads import IncomingReport, upload_create
from tests.factories import ProjectFactory
from tests.ingest.corpus import independent_count, manifest, must_refuse, other_format

pytestmark = [pytest.mark.django_db, pytest.mark.corpus]

ROWS = manifest()
VALID = [pytest.param(r, id=r["path"]) for r in ROWS if not must_refuse(r)]
REFUSED = [pytest.param(r, id=r["path"]) for r in ROWS if must_refuse(r)]
NO_CORPUS = [pytest.param(None, marks=pytest.mark.skip(reason="JUnit corpus not found"))]


def _ingest(path: Path) -> Upload:
    project = ProjectFactory()
    with path.open("rb") as stream:
        report = IncomingReport(
            filename=path.name,
            content_type="application/gzip" if path.suffix == ".gz" else "application/xml",
            stream=stream,
            size=path.stat().st_size,
        )
        upload = upload_create(project=project, reports=[report], run_key="corpus")
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


def test_manifest_lists_every_kind(corpus_dir):
    assert len(VALID) > 200
    assert len(REFUSED) > 25
    formats = {other_format(r) for r in ROWS} - {None}
    assert formats == {"nunit3", "nunit2", "xunit", "trx"}


@pytest.mark.parametrize("row", VALID or NO_CORPUS)
def test_valid_report_counts_match_an_independent_count(corpus_dir, row):
    path = corpus_dir / row["path"]
    fmt = other_format(row) or "junit"
    distinct, elements = independent_count(path, fmt)
    if fmt == "junit":
        assert elements == int(row["testcases"])
    upload = _ingest(path)
    assert upload.status == Upload.Status.PROCESSED, upload.error
    assert upload.tests == distinct
    parts = (upload.passed, upload.failed, upload.errors, upload.skipped)
    assert sum(parts) == upload.tests
    attempts = sum(Result.objects.filter(run=upload.run).values_list("attempts", flat=True))
    assert attempts >= elements


@pytest.mark.parametrize("row", REFUSED or NO_CORPUS)
def test_malformed_or_foreign_report_fails_with_an_error(corpus_dir, row):
    upload = _ingest(corpus_dir / row["path"])
    assert upload.status == Upload.Status.FAILED
    assert upload.error.strip()
    assert not Result.objects.filter(run=upload.run).exists()
    # The raw upload is kept for a retry or a look by a person.
    assert upload.files.get().raw.size > 0 or row["root_element"] == "(empty)"
