"""Schema-based fuzzing: no input the OpenAPI document allows makes the API answer 5xx.

Schemathesis reads /api/schema/ from the WSGI app and generates requests for every
operation (valid and invalid parameters and bodies). Requests carry a real token of a
project with a few processed uploads, and the ``slug`` path parameter is pinned to that
project, so the generated inputs reach the views' code instead of stopping at 401/404.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from passline.wsgi import application

# Loaded at collection: building the document needs the URL conf, not the database.
# The coverage phase enumerates boundary values exhaustively (hundreds of requests per
# operation); the examples and fuzzing phases keep the run bounded by max_examples.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)

REPORT = b"""<?xml version="1.0"?>
<testsuite name="fuzz"><testcase classname="fuzz.A" name="ok"/>
<testcase classname="fuzz.A" name="bad"><failure message="x"/></testcase></testsuite>"""


@pytest.fixture
def fuzz_project(db, client):
    """Return (project, upload token, read token) with two processed runs."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ingest.services.projects import project_create
    from ingest.services.tokens import token_create

    project = project_create(slug="fuzz", name="Fuzz")
    _, upload_token = token_create(project=project, scope="upload")
    _, read_token = token_create(project=project, scope="read")
    for run in ("base", "head"):
        response = client.post(
            "/api/v1/uploads",
            {"file": SimpleUploadedFile("r.xml", REPORT), "run": run, "final": "true"},
            headers={"Authorization": f"Bearer {upload_token}"},
        )
        assert response.status_code == 202, response.content
    return project, upload_token, read_token


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_answers_with_a_server_error(case, fuzz_project):
    project, upload_token, read_token = fuzz_project
    if "slug" in (case.path_parameters or {}):
        case.path_parameters["slug"] = project.slug
    token = upload_token if case.method.upper() == "POST" else read_token
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=[not_a_server_error])
