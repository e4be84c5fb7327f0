"""Fixtures of the feedback tests: a project with a base run, and the local servers."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.dashboard.analytics_data import F, P, make_run
from tests.factories import ProjectFactory
from tests.notify.servers import FakeGitHub, FakeGitLab, FakeSlack, FakeTeams

T0 = datetime(2026, 3, 1, tzinfo=UTC)
COMMON = [(f"ok{i}", P, "Other") for i in range(18)]


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def allow_private(settings):
    """The local servers listen on 127.0.0.1: allow it, as a self-hosted chat needs."""
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    settings.PASSLINE_BASE_URL = "https://passline.example.com"


def make_project():
    """Return project "shop" (target 90%) with a complete main run: 20 tests, 19 passing."""
    project = ProjectFactory(slug="shop", name="Shop", target_bp=9000)
    make_run(project, "m1", at(0), [*COMMON, ("test_login", P, "Auth"), ("test_cart", F, "Cart")])
    return project


@pytest.fixture
def project(db):
    return make_project()


def head_run(project, key="m2", *, hours=1, branch=None, regress=True, pr=None, commit="abc123"):
    """Add a complete run: ``test_login`` regresses when ``regress``, else all but one pass."""
    login = F if regress else P
    run = make_run(
        project,
        key,
        at(hours),
        [*COMMON, ("test_login", login, "Auth"), ("test_cart", F, "Cart")],
        branch=branch,
    )
    run.pr, run.commit = pr, commit
    run.save(update_fields=["pr", "commit"])
    return run


@pytest.fixture
def slack():
    with FakeSlack() as server:
        yield server


@pytest.fixture
def teams():
    with FakeTeams() as server:
        yield server


@pytest.fixture
def github():
    with FakeGitHub() as server:
        yield server


@pytest.fixture
def gitlab():
    with FakeGitLab() as server:
        yield server
