"""Schema-based fuzzing: no input the OpenAPI document allows makes the API answer 5xx.

Schemathesis reads /api/schema/ from the WSGI app and generates requests for every
operation (valid and invalid parameters and bodies). Requests carry a real token of a
project with a few processed uploads, and the ``slug`` path parameter is pinned to that
project, so the generated inputs reach the views' code instead of stopping at 401/404.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from passline.wsgi import application

# Loaded at collection: building the document needs the URL conf, not the database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

SLUG = "fuzz"
REPORT = b"""<?xml version="1.0"?>
<testsuite name="fuzz"><testcase classname="fuzz.A" name="ok"/>
<testcase classname="fuzz.A" name="bad"><failure message="x"/></testcase></testsuite>"""


@pytest.fixture
def fuzz_api(fuzz_project):
    """Return ``fuzz_project`` with request signals kept from closing the connection.

    Schemathesis calls the raw WSGI handler, which (unlike Django's test client) closes
    the connection after each request; on PostgreSQL that would end the test transaction.
    The test client reconnects the receivers after each of its requests, so this runs
    after ``fuzz_project`` has made its uploads.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield fuzz_project
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_project(db, client, django_capture_on_commit_callbacks):
    """Return (project, upload token, read token) with two processed runs."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ingest.models import Upload
    from ingest.services.projects import project_create
    from ingest.services.tokens import token_create

    project = project_create(slug=SLUG, name="Fuzz")
    _, upload_token = token_create(project=project, scope="upload")
    _, read_token = token_create(project=project, scope="read")
    for run in ("base", "head"):
        with django_capture_on_commit_callbacks(execute=True):  # process the upload
            response = client.post(
                "/api/v1/uploads",
                {"file": SimpleUploadedFile("r.xml", REPORT), "run": run, "final": "true"},
                headers={"Authorization": f"Bearer {upload_token}"},
            )
        assert response.status_code == 202, response.content
    assert Upload.objects.filter(status=Upload.Status.PROCESSED).count() == 2
    return project, upload_token, read_token


def _operations() -> list:
    return [result.ok() for result in schema.get_all_operations()]


def _cases(operation, mode: GenerationMode):
    """Generated requests for `operation`, its ``slug`` pinned to the fuzzed project."""
    pinned = {"slug": SLUG} if "{slug}" in operation.path else None
    return operation.as_strategy(mode, path_parameters=pinned)


# One pytest test per operation with an id of its own ("GET /api/v1/…"): schemathesis'
# own parametrize gives every operation the same node id, which xdist's group scheduler
# (`make test`) takes for one test and runs once.
@pytest.mark.parametrize("operation", _operations(), ids=lambda operation: operation.label)
def test_api_never_answers_with_a_server_error(operation, fuzz_api):
    _, upload_token, read_token = fuzz_api
    token = upload_token if operation.method.upper() == "POST" else read_token

    @given(case=st.one_of(_cases(operation, mode) for mode in GenerationMode))
    @settings(
        max_examples=24,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=[not_a_server_error])

    check()
