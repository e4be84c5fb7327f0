"""The upload fields `pr` and `base_commit`: validated, stored on the run, listed."""
# ruff: noqa: F811 (pytest fixtures imported from upload_api_helpers)

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ingest.models import Run, Upload
from tests.ingest.upload_api_helpers import (  # noqa: F401 (fixtures)
    REPORT,
    URL,
    _fresh_rate_limit_counts,
    client,
    post_xml,
    project,
    upload_token,
)

pytestmark = pytest.mark.django_db


def xml_file():
    return SimpleUploadedFile("report.xml", REPORT, content_type="application/xml")


def test_pr_and_base_commit_are_stored_on_the_run(client):
    response = client.post(
        URL, {"file": xml_file(), "run": "p-1", "pr": "42", "base_commit": " abc "}
    )
    assert response.status_code == 202, response.content
    run = Run.objects.get(key="p-1")
    assert (run.pr, run.base_commit) == (42, "abc")


def test_pr_in_the_query_of_a_raw_body(client):
    assert post_xml(client, query="run=p-2&pr=9").status_code == 202
    assert Run.objects.get(key="p-2").pr == 9


@pytest.mark.parametrize(
    "garbage", ["abc", "0", "-3", "1.5", "7.0", "#7", "99999999999", "1e3", "٣"]
)
def test_garbage_pr_is_400_and_nothing_is_stored(client, garbage):
    response = client.post(URL, {"file": xml_file(), "run": "p-3", "pr": garbage})
    assert response.status_code == 400, (garbage, response.content)
    body = response.json()
    assert body["error"] == "bad_request" and body["detail"].startswith("pr:")
    assert not Upload.objects.exists()


def test_empty_pr_means_none(client):
    assert client.post(URL, {"file": xml_file(), "run": "p-4", "pr": ""}).status_code == 202
    assert Run.objects.get(key="p-4").pr is None


def test_a_later_part_fills_the_pr_but_never_changes_it(client):
    client.post(URL, {"file": xml_file(), "run": "p-5"})
    client.post(URL, {"file": xml_file(), "run": "p-5", "pr": "5"})
    client.post(URL, {"file": xml_file(), "run": "p-5", "pr": "6"})
    assert Run.objects.get(key="p-5").pr == 5


def test_runs_api_lists_the_pr(client, project):
    from dashboard.derive.runs import run_stats_update

    client.post(URL, {"file": xml_file(), "run": "p-6", "pr": "11", "final": "true"})
    run = Run.objects.get(key="p-6")
    run_stats_update(run_id=run.pk)
    body = client.get(f"/api/v1/projects/{project.slug}/runs").json()
    assert [(r["run"], r["pr"]) for r in body["results"]] == [("p-6", 11)]
