"""POST /api/v1/uploads and GET /api/v1/uploads/<id>: the happy paths and access."""
# ruff: noqa: F811 (pytest fixtures imported from upload_api_helpers)

import hashlib
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from ingest.models import ApiToken, Run, Upload, UploadFile
from ingest.services.tokens import token_create
from tests.factories import ProjectFactory, UploadFactory
from tests.ingest.upload_api_helpers import (  # noqa: F401 (fixtures)
    OTHER_REPORT,
    REPORT,
    URL,
    _fresh_rate_limit_counts,
    client,
    gz,
    post_xml,
    project,
    upload_token,
)

pytestmark = pytest.mark.django_db


def xml_file(name="report.xml", body=REPORT, content_type="application/xml"):
    return SimpleUploadedFile(name, body, content_type=content_type)


def test_multipart_upload_is_stored_and_accepted(client, project, upload_token):
    response = client.post(
        URL,
        {
            "file": xml_file(),
            "run": "pipeline-7",
            "branch": "main",
            "commit": "abc123",
            "build_url": "https://ci.example.com/7",
            "category": "Cart",
        },
    )
    assert response.status_code == 202, response.content
    upload = Upload.objects.get()
    assert response.json() == {
        "id": upload.pk,
        "status": "queued",
        "url": f"/api/v1/uploads/{upload.pk}",
        "run": "pipeline-7",
    }
    assert response["Location"] == f"/api/v1/uploads/{upload.pk}"
    assert upload.project == project
    assert upload.token == upload_token[0]
    assert upload.category == "Cart"
    assert upload.is_final is False
    run = upload.run
    assert (run.key, run.branch, run.commit, run.build_url) == (
        "pipeline-7",
        "main",
        "abc123",
        "https://ci.example.com/7",
    )
    assert run.timestamp_explicit is False


def test_raw_file_is_kept_in_storage_with_its_sha256(client):
    response = post_xml(client, gz(REPORT), content_type="application/gzip")
    assert response.status_code == 202, response.content
    stored = UploadFile.objects.get()
    body = gz(REPORT)
    assert stored.sha256 == hashlib.sha256(body).hexdigest()
    assert stored.size == len(body)
    assert stored.content_type == "application/gzip"
    with stored.raw.open("rb") as handle:
        assert handle.read() == body


def test_multipart_with_several_files_is_one_upload(client):
    files = [xml_file("a.xml"), xml_file("b.xml.gz", gz(OTHER_REPORT), "application/gzip")]
    response = client.post(URL, {"file": files, "run": "r1"})
    assert response.status_code == 202, response.content
    upload = Upload.objects.get()
    assert [f.filename for f in upload.files.all()] == ["a.xml", "b.xml.gz"]
    assert [f.sha256 for f in upload.files.all()] == [
        hashlib.sha256(REPORT).hexdigest(),
        hashlib.sha256(gz(OTHER_REPORT)).hexdigest(),
    ]


@pytest.mark.parametrize(
    "content_type", ["application/xml", "text/xml", "application/xml; charset=utf-8"]
)
def test_raw_xml_body_with_metadata_in_query(client, content_type):
    response = post_xml(
        client,
        query="run=42&branch=dev&final=true&timestamp=2026-11-01T10:00:00Z",
        content_type=content_type,
    )
    assert response.status_code == 202, response.content
    upload = Upload.objects.get()
    assert upload.is_final is True
    assert upload.run.key == "42"
    assert upload.run.branch == "dev"
    assert upload.run.timestamp_explicit is True
    assert upload.run.started_at.isoformat() == "2026-11-01T10:00:00+00:00"
    assert upload.files.get().filename == "report.xml"


@pytest.mark.parametrize("content_type", ["application/gzip", "application/x-gzip"])
def test_raw_gzip_body(client, content_type):
    response = post_xml(client, gz(REPORT), content_type=content_type)
    assert response.status_code == 202, response.content
    assert Upload.objects.get().files.get().filename == "report.xml.gz"


def test_uploads_without_run_get_a_run_each(client):
    first = post_xml(client).json()["run"]
    second = post_xml(client).json()["run"]
    assert first != second
    assert Run.objects.count() == 2


def test_parts_with_the_same_run_share_it_and_fill_blanks(client):
    post_xml(client, query="run=7&branch=main")
    post_xml(client, OTHER_REPORT, query="run=7&commit=abc&branch=other&final=1")
    run = Run.objects.get()
    assert run.uploads.count() == 2
    assert run.branch == "main"  # an earlier value is never overwritten
    assert run.commit == "abc"
    assert [u.is_final for u in run.uploads.order_by("id")] == [False, True]


def test_part_for_a_complete_run_is_accepted_and_run_stays_complete(client, project):
    run = Run.objects.create(project=project, key="done", started_at="2026-01-01T00:00Z")
    Run.objects.filter(pk=run.pk).update(is_complete=True)
    response = post_xml(client, query="run=done")
    assert response.status_code == 202
    run.refresh_from_db()
    assert run.is_complete
    assert run.uploads.count() == 1


def test_processing_is_enqueued_on_commit(client, django_capture_on_commit_callbacks):

    with mock.patch("ingest.tasks.upload_process.delay") as delay:
        with django_capture_on_commit_callbacks() as callbacks:
            response = post_xml(client)
        assert response.status_code == 202
        delay.assert_not_called()  # nothing is queued before the commit
        assert len(callbacks) == 1
        callbacks[0]()
    delay.assert_called_once_with(response.json()["id"])


def test_processed_upload_shows_counts(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"file": [xml_file(), xml_file("b.xml", OTHER_REPORT)]})
    assert response.status_code == 202
    body = client.get(response.json()["url"]).json()
    assert body["status"] == "processed", body
    assert body["counts"] == {
        "tests": 5,
        "passed": 2,
        "failed": 1,
        "error": 1,
        "skipped": 1,
        "flaky": 0,
    }
    assert body["error"] is None
    assert [f["filename"] for f in body["files"]] == ["report.xml", "b.xml"]


def test_status_shows_a_failed_parse_with_line_and_column(client, project):
    upload = UploadFactory(
        run__project=project,
        status=Upload.Status.FAILED,
        error="line 3, column 7: mismatched tag",
        error_line=3,
        error_column=7,
    )
    body = client.get(f"{URL}/{upload.pk}").json()
    assert body["status"] == "failed"
    assert (body["error"], body["error_line"], body["error_column"]) == (
        "line 3, column 7: mismatched tag",
        3,
        7,
    )


def test_read_token_of_the_project_can_see_its_uploads(project):
    upload = UploadFactory(run__project=project, tests=3, passed=2, failed=1)
    _, read_token = token_create(project=project, scope="read")
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {read_token}")
    response = reader.get(f"{URL}/{upload.pk}")
    assert response.status_code == 200
    assert response.json()["counts"]["tests"] == 3


def test_token_of_another_project_gets_404_for_its_uploads(client):
    foreign = UploadFactory(run__project=ProjectFactory(slug="other"))
    response = client.get(f"{URL}/{foreign.pk}")
    missing = client.get(f"{URL}/{foreign.pk + 1000}")
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json() == {"error": "not_found", "detail": "Not found."}


def test_upload_detail_needs_a_token(project):
    upload = UploadFactory(run__project=project)
    response = APIClient().get(f"{URL}/{upload.pk}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_uploads_always_go_to_the_tokens_project(client, project):
    ProjectFactory(slug="other")
    response = post_xml(client, query="project=other")
    assert response.status_code == 202
    assert Upload.objects.get().project == project


def test_read_token_cannot_upload(project):
    _, read_token = token_create(project=project, scope="read")
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {read_token}")
    response = post_xml(reader)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert not Upload.objects.exists()


def test_revoked_token_gets_the_same_401_as_none(client, upload_token):
    anonymous = post_xml(APIClient())
    ApiToken.objects.update(revoked_at="2026-01-01T00:00Z")
    revoked = post_xml(client)
    assert anonymous.status_code == revoked.status_code == 401
    assert anonymous.json() == revoked.json()
    assert revoked.json()["error"] == "unauthorized"
    assert not Upload.objects.exists()


def test_schema_documents_the_upload_endpoints(client):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    post = schema["paths"]["/api/v1/uploads"]["post"]
    assert {"202", "200", "400", "401", "403", "409", "413", "415", "422", "429", "503"} <= set(
        post["responses"]
    )
    assert set(post["requestBody"]["content"]) >= {"multipart/form-data", "application/xml"}
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    assert "/api/v1/uploads/{upload_id}" in schema["paths"]


def test_client_file_names_never_choose_the_storage_path(client, settings):
    evil = xml_file("../../../../etc/cron.d/evil.xml")
    assert client.post(URL, {"file": evil}).status_code == 202
    stored = UploadFile.objects.get()
    upload = stored.upload
    assert stored.raw.name.startswith(f"raw/{upload.project_id}/{upload.pk}/")
    assert ".." not in stored.raw.name
    assert Path(stored.raw.path).resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())


def test_upload_status_query_count(client, project, django_assert_num_queries):
    upload = UploadFactory(run__project=project)
    client.get(f"{URL}/{upload.pk}")  # first use writes last_used_at
    # 1 token (with project), 2 upload (with run), 3 its files
    with django_assert_num_queries(3):
        assert client.get(f"{URL}/{upload.pk}").status_code == 200
