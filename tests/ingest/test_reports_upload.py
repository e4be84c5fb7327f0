"""Every format goes through the one upload endpoint and `importreports`, sniffed."""
# ruff: noqa: F811 (pytest fixtures imported from upload_api_helpers)

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from ingest.models import Upload
from tests.factories import ProjectFactory
from tests.ingest.upload_api_helpers import (  # noqa: F401 (fixtures)
    URL,
    _fresh_rate_limit_counts,
    client,
    gz,
    post_xml,
    project,
    upload_token,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reports"
# (fixture, distinct tests, passed, failed, error, skipped, flaky) as processed.
EXPECTED = {
    "nunit3-outcomes.xml": (11, 4, 1, 3, 3, 0),
    "nunit2-comma.xml": (7, 2, 1, 2, 2, 0),
    "xunit2-theories.xml": (6, 2, 2, 0, 2, 0),
    "xunit1-classes.xml": (3, 1, 1, 0, 1, 0),
    "trx-results-first.trx": (11, 4, 3, 2, 2, 0),
    "ctrf-mixed.json": (7, 3, 1, 1, 2, 1),
    "gotest-mixed.jsonl": (13, 7, 3, 2, 1, 1),
}


def counts(body: dict) -> tuple:
    c = body["counts"]
    return (c["tests"], c["passed"], c["failed"], c["error"], c["skipped"], c["flaky"])


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_multipart_upload_of_each_format_is_processed(
    name, client, django_capture_on_commit_callbacks
):
    data = (FIXTURES / name).read_bytes()
    # The file name is not trusted: every file goes up as "report.xml".
    upload = SimpleUploadedFile("report.xml", data, content_type="application/octet-stream")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"file": [upload]})
    assert response.status_code == 202, response.content
    body = client.get(response.json()["url"]).json()
    assert body["status"] == "processed", body
    assert counts(body) == EXPECTED[name]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, content_type",
    [
        ("ctrf-mixed.json", "application/json"),
        ("gotest-mixed.jsonl", "application/x-ndjson"),
        ("trx-results-first.trx", "application/xml"),
    ],
)
def test_raw_and_gzipped_bodies_of_json_and_trx(
    name, content_type, client, django_capture_on_commit_callbacks
):
    data = (FIXTURES / name).read_bytes()
    for body, declared in ((data, content_type), (gz(data), "application/gzip")):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_xml(client, body, content_type=declared)
        assert response.status_code == 202, response.content
        status = client.get(response.json()["url"]).json()
        assert counts(status) == EXPECTED[name], status


@pytest.mark.django_db
def test_an_unknown_json_report_is_422_listing_the_formats(client):
    response = post_xml(client, b'{"suites": []}', content_type="application/json")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "not_junit"
    assert "report.json" in body["detail"]
    assert "CTRF" in body["detail"] and "go test -json" in body["detail"]
    assert "NUnit 3" in body["detail"] and "TRX" in body["detail"]


@pytest.mark.django_db(transaction=True)
def test_importreports_reads_trx_and_json_files(tmp_path):
    ProjectFactory(slug="dotnet")
    paths = []
    for name in ("trx-results-first.trx", "ctrf-mixed.json"):
        path = tmp_path / name
        path.write_bytes((FIXTURES / name).read_bytes())
        paths.append(str(path))
    out = io.StringIO()
    call_command("importreports", "dotnet", *paths, "--run", "r1", stdout=out)
    assert "processed tests=18" in out.getvalue()
    assert Upload.objects.get().files.count() == 2
