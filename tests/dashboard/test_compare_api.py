"""GET /api/v1/projects/<slug>/compare."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from ingest.models import Project
from tests.dashboard.analytics_data import F, P, example_runs, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def project():
    project = ProjectFactory(slug="cmp", is_public=True)
    example_runs(project, T0, T0 + timedelta(days=20))
    return project


def test_default_compare_is_baseline_against_latest(project):
    body = Client().get("/api/v1/projects/cmp/compare").json()
    assert (body["base"]["run"], body["head"]["run"]) == ("base", "head")
    assert body["overall"]["delta_passed"] == 98
    assert body["identity_holds"] is True
    assert body["identity"].startswith("delta_passed = fixed - regressed")
    assert {c["name"] for c in body["categories"]} >= {"Plex", "Other"}
    assert body["changes_total"] == 98


def test_marked_baseline_is_the_default_base(project):
    middle = make_run(project, "middle", T0 + timedelta(days=10), [("Plex.t0", P, "Plex")])
    Project.objects.filter(pk=project.pk).update(baseline_run=middle)
    body = Client().get("/api/v1/projects/cmp/compare").json()
    assert body["base"]["run"] == "middle"


def test_explicit_runs(project):
    make_run(project, "later", T0 + timedelta(days=21), [("Plex.t0", F, "Plex")])
    body = Client().get("/api/v1/projects/cmp/compare?base=head&head=later").json()
    assert body["overall"]["regressed"] == 1
    assert body["overall"]["removed_passing"] == 620
    assert body["overall"]["delta_passed"] == -621


def test_unknown_run_is_400(project):
    response = Client().get("/api/v1/projects/cmp/compare?base=nope")
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_request",
        "detail": "base: this project has no run with that key.",
    }


def test_project_without_runs_is_400():
    ProjectFactory(slug="empty", is_public=True)
    assert Client().get("/api/v1/projects/empty/compare").status_code == 400


def test_private_compare_needs_token(project):
    Project.objects.filter(pk=project.pk).update(is_public=False)
    assert Client().get("/api/v1/projects/cmp/compare").status_code == 401
