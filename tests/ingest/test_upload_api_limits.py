"""POST /api/v1/uploads: every refusal, the size limits and idempotency."""
# ruff: noqa: F811 (pytest fixtures imported from upload_api_helpers)

import io
import tracemalloc
import zlib
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from rest_framework.test import APIRequestFactory

from ingest.api.views import UploadCreateView
from ingest.models import Run, Upload, UploadFile
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


def assert_error(response, status, code, *fragments):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == code
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]
    assert not Upload.objects.exists()


# 400 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("final=maybe", "final"),
        ("final=on", "final"),
        ("timestamp=yesterday", "timestamp"),
        ("timestamp=2026-13-01T00:00:00Z", "timestamp"),
        ("run=" + "x" * 256, "run"),
        ("branch=" + "b" * 256, "branch"),
        ("category=" + "c" * 201, "category"),
        ("build_url=javascript:alert(1)", "build_url"),
        ("build_url=ftp://ci.example.com/1", "build_url"),
        ("run=a%0Ab", "run"),
    ],
)
def test_bad_metadata_is_400(client, query, fragment):
    assert_error(post_xml(client, query=query), 400, "bad_request", fragment)


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "false", "0", "no"])
def test_final_accepts_the_documented_spellings(client, value):
    assert post_xml(client, query=f"final={value}").status_code == 202
    assert Upload.objects.get().is_final is (value.lower() in {"true", "1", "yes"})


def test_multipart_metadata_is_validated_too(client):
    response = client.post(URL, {"file": SimpleUploadedFile("r.xml", REPORT), "final": "perhaps"})
    assert_error(response, 400, "bad_request", "final")


def test_multipart_without_a_file_field_is_400(client):
    response = client.post(URL, {"report": SimpleUploadedFile("r.xml", REPORT)})
    assert_error(response, 400, "bad_request", "'file'")


@pytest.mark.parametrize("key", ["", " ", "k" * 256, "bad\x01key"])
def test_bad_idempotency_key_is_400(client, key):
    response = post_xml(client, **{"Idempotency-Key": key})
    assert_error(response, 400, "bad_request", "Idempotency-Key")


# 413 ---------------------------------------------------------------------------------


def test_declared_length_over_the_limit_is_413_before_reading(client, settings):
    settings.PASSLINE_MAX_UPLOAD_BYTES = 100
    with mock.patch("ingest.api.intake.read_raw_body") as read:
        response = post_xml(client)
    read.assert_not_called()
    assert_error(response, 413, "too_large", "100 bytes")


def test_body_longer_than_declared_or_undeclared_is_counted(upload_token, settings):
    settings.PASSLINE_MAX_UPLOAD_BYTES = 1000
    body = REPORT + b"<!--" + b"x" * 5000 + b"-->"
    request = APIRequestFactory().post(
        URL, body, content_type="application/xml", HTTP_AUTHORIZATION=f"Bearer {upload_token[1]}"
    )
    # A chunked request has no Content-Length; the stream is then read until it ends.
    del request.META["CONTENT_LENGTH"]
    request._stream = io.BytesIO(body)
    response = UploadCreateView.as_view()(request)
    response.render()
    assert response.status_code == 413
    assert response.data["error"] == "too_large"
    assert not Upload.objects.exists()


def test_multipart_bytes_are_counted_while_streaming(client, settings):
    settings.PASSLINE_MAX_UPLOAD_BYTES = 2000
    big = SimpleUploadedFile("big.xml", REPORT + b"<!--" + b"x" * 5000 + b"-->")
    with mock.patch("ingest.api.intake.check_declared_length"):  # pretend it lied
        response = client.post(URL, {"file": big})
    assert_error(response, 413, "too_large", "2000 bytes")


def test_too_many_files_is_413(client, settings):
    settings.PASSLINE_MAX_FILES_PER_UPLOAD = 2
    files = [SimpleUploadedFile(f"r{i}.xml", REPORT) for i in range(3)]
    assert_error(client.post(URL, {"file": files}), 413, "too_large", "more than 2 files")


def test_gzip_bomb_is_refused_without_expanding_it(client, settings):
    settings.PASSLINE_MAX_DECOMPRESSED_BYTES = 1024 * 1024
    # A valid JUnit head followed by 20 MB of spaces: passes the head check, so only the
    # capped decompression can refuse it.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = compressor.compress(b"<testsuites>")
    chunk = b" " * (1024 * 1024)
    for _ in range(20):
        bomb += compressor.compress(chunk)
    bomb += compressor.compress(b"</testsuites>") + compressor.flush()
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        response = post_xml(client, bomb, content_type="application/gzip")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_error(response, 413, "too_large", "after decompression", "not expanded")
    # Expanding it would need 20 MB; streaming needs a few 64 KiB buffers.
    assert peak < 8 * 1024 * 1024


def test_gzip_of_zeros_is_refused_as_not_junit(client):
    bomb = gz(b"\0" * (2 * 1024 * 1024))
    assert_error(post_xml(client, bomb, content_type="application/gzip"), 422, "not_junit")


# 415 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/pdf", "image/png", ""])
def test_other_content_types_are_415(client, content_type):
    response = post_xml(client, content_type=content_type)
    assert_error(response, 415, "unsupported_media_type", "multipart/form-data")


# 422 ---------------------------------------------------------------------------------


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<testsuite><testcase classname="a" name="&xxe;"/></testsuite>
"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<testsuite><testcase classname="a" name="&lol2;"/></testsuite>
"""


@pytest.mark.parametrize("body", [XXE, BILLION_LAUGHS])
def test_doctype_is_refused(client, body):
    assert_error(post_xml(client, body), 422, "not_junit", "DOCTYPE")


def test_doctype_inside_gzip_is_refused(client):
    response = post_xml(client, gz(XXE), content_type="application/gzip")
    assert_error(response, 422, "not_junit", "DOCTYPE")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"hello, world", "line 1"),
        (b"<html><body>502 Bad Gateway</body></html>", "html"),
        (b'{"tests": 3}', "JSON document"),
        (b"<testsuite>\n<testcase name='a'>\n</testsuite>", "line 3"),
    ],
)
def test_non_junit_is_422_with_position(client, body, fragment):
    response = post_xml(client, body)
    assert_error(response, 422, "not_junit", "report.xml", fragment)


def test_one_bad_file_refuses_the_whole_multipart_upload(client):
    files = [SimpleUploadedFile("ok.xml", REPORT), SimpleUploadedFile("bad.xml", b"nope")]
    assert_error(client.post(URL, {"file": files}), 422, "not_junit", "bad.xml")
    assert not UploadFile.objects.exists()


def test_corrupt_gzip_is_422(client):
    response = post_xml(client, gz(REPORT)[:-12] + b"garbage!", content_type="application/gzip")
    assert_error(response, 422, "not_junit", "gzip")


# 429 ---------------------------------------------------------------------------------


def test_rate_limit_per_token_gives_429_with_retry_after(client, settings):
    settings.PASSLINE_UPLOAD_RATE_PER_MINUTE = 2
    assert post_xml(client).status_code == 202
    assert post_xml(client).status_code == 202
    response = post_xml(client)
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61
    assert Upload.objects.count() == 2


# 503 ---------------------------------------------------------------------------------


def test_storage_failure_is_503_with_retry_after_and_stores_nothing(client):
    with mock.patch(
        "django.core.files.storage.FileSystemStorage._save", side_effect=OSError("disk full")
    ):
        response = post_xml(client, query="run=r1")
    assert_error(response, 503, "unavailable", "Retry later")
    assert response["Retry-After"] == "30"
    assert not Run.objects.exists()


def test_failure_of_a_later_file_removes_the_files_already_saved(client, settings):
    from django.core.files.storage import FileSystemStorage

    real_save = FileSystemStorage._save
    calls = []

    def save_once(self, name, content):
        calls.append(name)
        if len(calls) > 1:
            raise OSError("disk full")
        return real_save(self, name, content)

    files = [SimpleUploadedFile("a.xml", REPORT), SimpleUploadedFile("b.xml", OTHER_REPORT)]
    with mock.patch.object(FileSystemStorage, "_save", save_once):
        response = client.post(URL, {"file": files})
    assert response.status_code == 503
    assert len(calls) == 2
    media = settings.MEDIA_ROOT
    left = [p for p in media.rglob("*") if p.is_file()] if media.exists() else []
    assert left == []


# Idempotency -------------------------------------------------------------------------


def test_same_key_and_body_returns_the_original_response_once(client):
    first = post_xml(client, query="run=9", **{"Idempotency-Key": "abc"})
    again = post_xml(client, query="run=9", **{"Idempotency-Key": "abc"})
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Upload.objects.count() == 1
    assert Run.objects.count() == 1


def test_same_key_without_run_still_leaves_one_run(client):
    first = post_xml(client, **{"Idempotency-Key": "k1"})
    again = post_xml(client, **{"Idempotency-Key": "k1"})
    assert again.json() == first.json()
    assert Run.objects.count() == 1


def test_same_multipart_upload_twice_is_one_upload(client):
    def send():
        files = [SimpleUploadedFile("a.xml", REPORT), SimpleUploadedFile("b.xml", OTHER_REPORT)]
        return client.post(URL, {"file": files, "run": "r"}, headers={"Idempotency-Key": "m"})

    assert send().status_code == 202
    assert send().status_code == 200
    assert Upload.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "query"), [(OTHER_REPORT, "run=9"), (REPORT, "run=10"), (REPORT, "run=9&final=1")]
)
def test_same_key_with_another_body_or_metadata_is_409(client, body, query):
    post_xml(client, query="run=9", **{"Idempotency-Key": "abc"})
    response = post_xml(client, body, query=query, **{"Idempotency-Key": "abc"})
    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_conflict"
    assert Upload.objects.count() == 1


def test_keys_are_per_project(client, project):
    from ingest.services.tokens import token_create
    from tests.factories import ProjectFactory

    _, other_token = token_create(project=ProjectFactory(slug="other"), scope="upload")
    post_xml(client, **{"Idempotency-Key": "same"})
    from rest_framework.test import APIClient

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_token}")
    assert post_xml(other, OTHER_REPORT, **{"Idempotency-Key": "same"}).status_code == 202
    assert Upload.objects.count() == 2


def test_concurrent_identical_request_losing_the_race_gets_the_original(client):
    """Both requests saw no stored key; the second insert hits the unique constraint."""
    first = post_xml(client, **{"Idempotency-Key": "race"}).json()
    original_replay = __import__("ingest.api.views", fromlist=["_replay"])._replay
    calls = {"n": 0}

    def replay_missing_first_time(*args):
        calls["n"] += 1
        return None if calls["n"] == 1 else original_replay(*args)

    with mock.patch("ingest.api.views._replay", side_effect=replay_missing_first_time):
        response = post_xml(client, **{"Idempotency-Key": "race"})
    assert response.status_code == 200
    assert response.json() == first
    assert Upload.objects.count() == 1
    assert calls["n"] == 2


def test_integrity_error_without_a_key_is_not_hidden(client):
    with (
        mock.patch("ingest.api.views.upload_create", side_effect=IntegrityError("boom")),
        pytest.raises(IntegrityError),
    ):
        post_xml(client)


def test_oversized_form_field_is_a_json_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(URL, {"file": SimpleUploadedFile("r.xml", REPORT), "run": "x" * 5000})
    assert_error(response, 413, "too_large", "form")


def test_too_many_form_fields_is_a_json_400(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    fields = {f"f{i}": "1" for i in range(10)}
    response = client.post(URL, {"file": SimpleUploadedFile("r.xml", REPORT), **fields})
    assert_error(response, 400, "bad_request", "too many fields")


def test_chunked_body_without_length_is_411(client):
    response = client.generic(
        "POST",
        URL,
        b"",
        "application/xml",
        headers={"Transfer-Encoding": "chunked"},
    )
    assert_error(response, 411, "length_required", "Content-Length")


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_store_one_upload(upload_token):
    """Real threads on a real database: one 202, the others the stored response."""
    import threading

    from django.db import connection
    from rest_framework.test import APIClient

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    barrier = threading.Barrier(4)
    results = []

    def send():
        from django.db import connections

        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {upload_token[1]}")
        barrier.wait()
        try:
            response = post_xml(api, query="run=race", **{"Idempotency-Key": "same"})
            results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 200, 202]
    assert all(body == results[0][1] for _, body in results)
    assert Upload.objects.count() == 1
    assert Run.objects.count() == 1
