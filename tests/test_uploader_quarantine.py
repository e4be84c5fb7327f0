"""``passline-upload quarantine`` against a live server: text, JSON, refusals."""

import json

import pytest

from dashboard.services.quarantine import test_quarantine
from ingest.services.tokens import token_create
from passline_upload.cli import run
from passline_upload.quarantine import quarantine_url
from tests.factories import ProjectFactory, TestFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project():
    project = ProjectFactory(slug="cli")
    test = TestFactory(project=project, classname="pkg.A", name="test_one")
    test_quarantine(project=project, test=test, reason="races", actor="a")
    return project


def test_prints_one_test_a_line(live_server, project, capsys):
    _, token = token_create(project=project, scope="upload")
    argv = ["quarantine", "--url", live_server.url, "--token", token, "--project", "cli"]
    assert run(argv, env={}, sleep=lambda s: None) == 0
    assert capsys.readouterr().out == "pkg.A::test_one\n"


def test_prints_json_with_environment_settings(live_server, project, capsys):
    _, token = token_create(project=project, scope="read")
    env = {"PASSLINE_URL": live_server.url, "PASSLINE_TOKEN": token, "PASSLINE_PROJECT": "cli"}
    assert run(["quarantine", "--json"], env=env, sleep=lambda s: None) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in data["tests"]] == ["test_one"]


def test_token_of_another_project_exits_3(live_server, project, capsys):
    _, token = token_create(project=ProjectFactory(slug="other"), scope="upload")
    argv = ["quarantine", "--url", live_server.url, "--token", token, "--project", "cli"]
    assert run(argv, env={}, sleep=lambda s: None) == 3
    assert "HTTP 404" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert run(["quarantine", "--url", "http://x"], env={}, sleep=lambda s: None) == 2
    assert run(["quarantine", "--token", "t"], env={}, sleep=lambda s: None) == 2


def test_url_keeps_a_path_prefix():
    assert (
        quarantine_url("https://ci.example/passline/", "a b", text=True)
        == "https://ci.example/passline/api/v1/projects/a%20b/quarantine?format=text"
    )
