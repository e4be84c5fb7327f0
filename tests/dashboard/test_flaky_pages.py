"""The flaky page, the test page's state section and actions, and quarantined counts."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from dashboard.codeowners.services import codeowners_set
from dashboard.derive.detect import run_detect
from dashboard.lifecycle.models import TestState, TestStateChange
from dashboard.services.quarantine import test_quarantine
from ingest.models import Membership, Result, Test
from tests.dashboard.analytics_data import make_run
from tests.dashboard.test_pages_data import build_history
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)
LETTERS = {"p": (1, False), "f": (2, False), "r": (1, True), "s": (4, False)}

# Anonymous request to /p/<slug>/flaky/:
#  1. project (access check, with its baseline run)
#  2. the project's CODEOWNERS (owners are matched on the paths query 3 reads)
#  3. candidate signals (+ test, its stats and category, its state)
#  4. the last failures' messages of the tests shown (one window query)
#  5. state counts (flaky, quarantined, suggested)
#  6. navigation: projects the user may see
FLAKY_QUERIES = 6


def history(
    project,
    tests: dict[str, str],
    messages: dict[str, list[str]] | None = None,
    *,
    start: int = 0,
):
    """One complete run per letter position from hour ``start``; failures get messages."""
    messages = {k: list(v) for k, v in (messages or {}).items()}
    for i in range(max(len(h) for h in tests.values())):
        results = []
        for name, letters in tests.items():
            if i < len(letters):
                outcome, flaky = LETTERS[letters[i]]
                results.append((name, outcome, "A", flaky))
        run = make_run(project, f"r{start + i}", T0 + timedelta(hours=start + i), results)
        for name, letters in tests.items():
            if i < len(letters) and letters[i] in "fr" and messages.get(name):
                Result.objects.filter(run=run, test__name=name).update(
                    message=messages[name].pop(0)
                )
        run_detect(run_id=run.pk)


@pytest.fixture
def shop():
    project = ProjectFactory(slug="shop", is_public=True)
    history(
        project,
        {
            "often_retried": "prprprpr",
            "breaks_more": "pfpfffpp",
            "steady": "pppppppp",
            "always_broken": "ffffffff",
        },
        messages={
            "breaks_more": [
                "Timeout after 30s on port 8001",
                "Timeout after 31s on port 8002",
                "AssertionError: 3 != 4",
                "Timeout after 29s on port 8003",
            ],
        },
    )
    return project


def rows(html: str) -> list[str]:
    pattern = (
        r'<tr data-test="\d+"><td class="name"><a [^>]*>(?:<span[^>]*>[^<]*</span>::)?([^<]+)</a>'
    )
    return re.findall(pattern, html)


def test_flaky_page_ranks_by_flake_rate_then_by_runs_broken(client, shop):
    html = client.get("/p/shop/flaky/").content.decode()
    assert rows(html) == ["often_retried", "breaks_more"]
    html = client.get("/p/shop/flaky/?sort=broke").content.decode()
    assert rows(html) == ["breaks_more", "often_retried"]


def test_flaky_page_groups_failure_messages_and_shows_state(client, shop):
    html = client.get("/p/shop/flaky/").content.decode()
    assert "3\u00d7</span> <code>Timeout after 29s on port 8003" in html
    assert "1\u00d7</span> <code>AssertionError: 3 != 4" in html
    # Both detected (defaults: suggest), so both are flaky and suggested.
    assert html.count('class="state state-flaky">flaky</span>') == 2
    assert 'data-suggested="2"' in html
    # Suggestions (accept / dismiss) are for admins only.
    assert "Suggested for quarantine</h2>" not in html


@pytest.mark.parametrize("extra", [0, 30])
def test_flaky_page_query_count(client, django_assert_num_queries, extra):
    project = ProjectFactory(slug="shop", is_public=True)
    tests = {"a": "prpr", "b": "pfpf"}
    tests.update({f"x{i}": "pfrp" for i in range(extra)})
    history(project, tests)
    with django_assert_num_queries(FLAKY_QUERIES):
        response = client.get("/p/shop/flaky/")
    assert response.status_code == 200
    assert response.content.decode().count("<tr data-test=") == 2 + extra


def owner_cells(html: str) -> dict[str, list[str]]:
    """Return {test name: owners shown in its row} of the flaky table."""
    found = {}
    for row in re.findall(r'<tr data-test="\d+">.*?</tr>', html, re.S):
        name = rows(row)[0]
        found[name] = re.findall(r'<a class="owner" href="[^"]*">([^<]+)</a>', row)
    return found


def test_flaky_page_shows_owners_and_filters_by_owner(client, shop):
    # often_retried by its file; breaks_more by its classname as a path (pkg/breaks_more).
    Test.objects.filter(project=shop, name="often_retried").update(file="src/net/test_io.py")
    codeowners_set(project=shop, text="* @org/core\n/src/net/ @org/net @bob\n", source="api")
    html = client.get("/p/shop/flaky/").content.decode()
    assert "<th>Owners</th>" in html
    assert owner_cells(html) == {
        "often_retried": ["@org/net", "@bob"],
        "breaks_more": ["@org/core"],
    }
    assert rows(client.get("/p/shop/flaky/?owner=@BOB").content.decode()) == ["often_retried"]
    filtered = client.get("/p/shop/flaky/?owner=@org/core&sort=broke").content.decode()
    assert rows(filtered) == ["breaks_more"]
    assert "Showing tests owned by <strong>@org/core</strong>" in filtered
    # The sort links keep the owner filter.
    assert 'href="?owner=%40org%2Fcore&amp;sort=flake"' in filtered
    nobody = client.get("/p/shop/flaky/?owner=none").content.decode()
    assert rows(nobody) == [] and "No flaky test owned by none" in nobody


def test_flaky_page_without_codeowners_has_no_owner_column(client, shop):
    html = client.get("/p/shop/flaky/").content.decode()
    assert "<th>Owners</th>" not in html and 'name="owner"' not in html


@pytest.fixture
def admin(client, shop):
    user = get_user_model().objects.create_user("ann", password="pw-long-1")
    Membership.objects.create(project=shop, user=user, role="admin")
    client.force_login(user)
    return user


def test_admin_accepts_a_suggestion_from_the_flaky_page(client, admin, shop):
    test = Test.objects.get(project=shop, name="often_retried")
    html = client.get("/p/shop/flaky/").content.decode()
    assert f'data-suggestion="{test.pk}"' in html
    response = client.post(
        f"/p/shop/tests/{test.pk}/state/", {"action": "accept", "next": "/p/shop/flaky/"}
    )
    assert response.status_code == 302 and response["Location"] == "/p/shop/flaky/"
    state = TestState.objects.get(test=test)
    assert (state.state, state.changed_by) == ("quarantined", "user:ann")
    assert "passed on retry" in state.reason


def test_admin_quarantines_renews_and_lifts_from_the_test_page(client, admin, shop):
    test = Test.objects.get(project=shop, name="steady")
    url = f"/p/shop/tests/{test.pk}/state/"
    client.post(url, {"action": "quarantine", "reason": "port clash", "days": "3"})
    state = TestState.objects.get(test=test)
    assert (state.state, state.reason) == ("quarantined", "port clash")
    assert state.expires_at - state.since == timedelta(days=3)
    html = client.get(f"/p/shop/tests/{test.pk}/").content.decode()
    assert 'data-state="quarantined"' in html
    assert "Renew quarantine" in html and "Lift quarantine" in html
    assert "port clash" in html
    client.post(url, {"action": "unquarantine", "reason": "fixed in #12"})
    html = client.get(f"/p/shop/tests/{test.pk}/").content.decode()
    assert 'data-state="active"' in html
    assert html.count('class="state-change"') == 2
    assert "fixed in #12" in html


def test_marking_fixed_starts_detection_over(client, admin, shop):
    """Without a fresh window, the next passing run would detect it flaky again."""
    test = Test.objects.get(project=shop, name="often_retried")
    client.post(f"/p/shop/tests/{test.pk}/state/", {"action": "fixed", "reason": "fixed in #7"})
    assert TestState.objects.get(test=test).state == "active"
    history(shop, {"often_retried": "p", "breaks_more": "p"}, start=20)
    assert TestState.objects.get(test=test).state == "active"
    assert rows(client.get("/p/shop/flaky/").content.decode()) == ["breaks_more"]
    # Detection starts over: two retries after the fix make it flaky again.
    history(shop, {"often_retried": "rr", "breaks_more": "pp"}, start=30)
    assert TestState.objects.get(test=test).state == "flaky"
    changes = TestStateChange.objects.filter(test=test).order_by("at", "id")
    assert [(c.to_state, c.actor, c.reason[:11]) for c in changes][-2:] == [
        ("active", "user:ann", "fixed in #7"),
        ("flaky", "detector:pass_on_retry", "passed on r"),
    ]


def test_quarantined_tests_can_be_marked_fixed(client, admin, shop):
    test = Test.objects.get(project=shop, name="steady")
    client.post(f"/p/shop/tests/{test.pk}/state/", {"action": "quarantine", "reason": "x"})
    assert "Mark fixed" in client.get(f"/p/shop/tests/{test.pk}/").content.decode()
    client.post(f"/p/shop/tests/{test.pk}/state/", {"action": "fixed"})
    assert TestState.objects.get(test=test).state == "active"


def test_quarantine_without_reason_is_refused_with_a_message(client, admin, shop):
    test = Test.objects.get(project=shop, name="steady")
    response = client.post(f"/p/shop/tests/{test.pk}/state/", {"action": "quarantine"}, follow=True)
    assert "a quarantine needs a reason" in response.content.decode()
    assert not TestState.objects.filter(test=test).exists()


def test_non_admins_cannot_change_states(client, shop):
    test = Test.objects.get(project=shop, name="steady")
    url = f"/p/shop/tests/{test.pk}/state/"
    assert client.post(url, {"action": "quarantine", "reason": "x"}).status_code == 403
    viewer = get_user_model().objects.create_user("vi", password="pw-long-1")
    Membership.objects.create(project=shop, user=viewer, role="viewer")
    client.force_login(viewer)
    assert client.post(url, {"action": "quarantine", "reason": "x"}).status_code == 403
    assert "Lift quarantine" not in client.get(f"/p/shop/tests/{test.pk}/").content.decode()
    assert not TestStateChange.objects.filter(test=test).exists()


def test_pages_exports_and_summary_say_how_many_are_quarantined(client):
    project = ProjectFactory(slug="q", is_public=True)
    build_history(project, n_runs=3)
    failing = Test.objects.filter(project=project).order_by("name").last()
    test_quarantine(project=project, test=failing, reason="x", actor="a")
    pages = ("/p/q/", "/p/q/runs/r2/", "/p/q/c/Cache/", "/p/q/report/", "/p/q/compare/")
    for url in (*pages, "/p/q/flaky/", "/"):
        assert 'data-quarantined="1"' in client.get(url).content.decode(), url
    summary = client.get("/api/v1/projects/q/summary").json()
    assert summary["quarantined"] == 1
    # Still not passing: the summary's counts are those of the rollups.
    assert summary["not_passing"] == summary["total"] - summary["passed"] > 0
    md = client.get("/p/q/export/summary.md").content.decode()
    assert "**Quarantined tests:** 1 (still counted as not passing)" in md
    assert client.get("/p/q/export/summary.json").json()["quarantined"] == 1


def test_admin_sets_the_detectors_in_settings(client, admin, shop):
    html = client.get("/p/shop/settings/flaky/").content.decode()
    # The documented defaults are shown for a project that never saved any.
    assert 'name="retry_k" value="2"' in html
    assert 'name="rate_n" value="30"' in html
    assert 'name="lift_after" value="10"' in html
    data = {
        "action": "quarantine",
        "retry_enabled": "on",
        "retry_k": "3",
        "retry_n": "10",
        "rate_low": "0.2",
        "rate_high": "0.8",
        "rate_flips": "2",
        "rate_n": "15",
        "lift_after": "5",
    }
    assert client.post("/p/shop/settings/flaky/", data).status_code == 302
    from dashboard.lifecycle.models import FlakyPolicy

    policy = FlakyPolicy.objects.get(project=shop)
    assert (policy.action, policy.retry_k, policy.rate_enabled, policy.lift_after) == (
        "quarantine",
        3,
        False,
        5,
    )
    bad = {**data, "retry_k": "11"}
    response = client.post("/p/shop/settings/flaky/", bad)
    assert response.status_code == 200
    assert "retry_k must be between 1 and retry_n" in response.content.decode()


def test_viewers_cannot_open_detector_settings(client, shop):
    viewer = get_user_model().objects.create_user("vi", password="pw-long-1")
    Membership.objects.create(project=shop, user=viewer, role="viewer")
    client.force_login(viewer)
    assert client.get("/p/shop/settings/flaky/").status_code == 403


def test_the_quarantine_form_shows_the_default_length(client, admin, shop, settings):
    settings.PASSLINE_QUARANTINE_DAYS = 14
    test = Test.objects.get(project=shop, name="steady")
    html = client.get(f"/p/shop/tests/{test.pk}/").content.decode()
    assert 'id="q-days" name="days" type="number" min="1" placeholder="14"' in html
