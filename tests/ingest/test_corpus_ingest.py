"""Every corpus report ingests end to end with an independently counted number of tests.

For each file in ../shared/junit-corpus/MANIFEST.tsv: a valid report goes through
upload_create + upload_process (the API's path) and its upload counts must equal a count
made here with plain lxml; a malformed or non-JUnit file must end failed with an error.
"""

import csv
import gzip
from pathlib import Path

import pytest
from lxml import etree

from ingest.identity import normalise_name
from ingest.models import Result, Upload
from ingest.processing import upload_process
from ingest.services.uploads import IncomingReport, upload_create
from tests.conftest import CORPUS_DIR
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.django_db, pytest.mark.corpus]


def _manifest() -> list[dict]:
    path = CORPUS_DIR / "MANIFEST.tsv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def _refused(row: dict) -> bool:
    notes = row["notes"]
    return (
        "MALFORMED" in notes
        or "NOT JUnit" in notes
        or row["root_element"] in ("(unparseable)", "(empty)")
    )


ROWS = _manifest()
VALID = [pytest.param(r, id=r["path"]) for r in ROWS if not _refused(r)]
REFUSED = [pytest.param(r, id=r["path"]) for r in ROWS if _refused(r)]
NO_CORPUS = [pytest.param(None, marks=pytest.mark.skip(reason="JUnit corpus not found"))]


def _xml_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _independent_count(path: Path) -> tuple[int, int]:
    """Return (distinct normalised (classname, name) pairs, testcase elements)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    root = etree.fromstring(_xml_bytes(path), parser)
    pairs = set()
    elements = 0
    for element in root.iter("{*}testcase"):
        elements += 1
        pairs.add((normalise_name(element.get("classname")), normalise_name(element.get("name"))))
    return len(pairs), elements


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


def test_manifest_lists_both_kinds(corpus_dir):
    assert len(VALID) > 200
    assert len(REFUSED) > 30


@pytest.mark.parametrize("row", VALID or NO_CORPUS)
def test_valid_report_counts_match_an_independent_count(corpus_dir, row):
    path = corpus_dir / row["path"]
    distinct, elements = _independent_count(path)
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
