"""One flake rate, from one list of rows.

A category page lists its flaky tests (passed on a retry, or marked flaky or quarantined)
with the flaky page's rows and rates, and the test page shows the same rate; "Mark
fixed" takes a test off all of them at once (it used to stay on the category and test
pages, with another rate, until its flaky runs left the per-test stats' window).
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.derive.detect import run_detect
from dashboard.derive.teststats import test_stats_refresh as refresh_test_stats
from dashboard.lifecycle.models import TestState
from dashboard.services.quarantine import test_mark_active
from ingest.models import Test
from tests.dashboard.analytics_data import make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
LETTERS = {"p": (1, False), "f": (2, False), "r": (1, True)}
# name: (category, outcome letters of four runs; r = passed on a retry)
TESTS = {
    "a_retried": ("A", "prpr"),
    "a_flipping": ("A", "pfpf"),
    "a_steady": ("A", "pppp"),
    "b_retried": ("B", "rrrp"),
}


@pytest.fixture
def duo():
    project = ProjectFactory(slug="duo", is_public=True)
    start = timezone.now() - timedelta(hours=10)
    for i in range(4):
        results = [
            (name, *LETTERS[letters[i]][:1], category, LETTERS[letters[i]][1])
            for name, (category, letters) in TESTS.items()
        ]
        run = make_run(project, f"r{i}", start + timedelta(hours=i), results)
        run_detect(run_id=run.pk)
    refresh_test_stats(project_id=project.pk)
    return project


def rates(html: str, section: str) -> dict[str, float]:
    """Return {test name: flake rate (data-value)} of the rows of the section titled so."""
    part = html.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    found = {}
    for row in re.findall(r"<tr[^>]*>.*?</tr>", part, re.S):
        name = re.search(
            r'<a href="/p/duo/tests/\d+/">(?:<span[^>]*>[^<]*</span>::)?([^<]+)</a>', row
        )
        rate = re.search(r'<td class="num" data-value="([0-9.]+)">', row)
        if name and rate:
            found[name[1]] = float(rate[1])
    return found


def flaky_page_rates(client) -> dict[str, float]:
    html = client.get("/p/duo/flaky/").content.decode()
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    found = {}
    for row in re.findall(r'<tr data-test="\d+">.*?</tr>', table, re.S):
        name = re.search(
            r'<td class="name"><a [^>]*>(?:<span[^>]*>[^<]*</span>::)?([^<]+)</a>', row
        )
        rate = re.search(r'<td class="num" data-value="([0-9.]+)">', row)
        found[name[1]] = float(rate[1])
    return found


def test_a_category_page_lists_its_flaky_tests_with_the_flaky_page_rates(client, duo):
    everywhere = flaky_page_rates(client)
    assert everywhere == {"a_retried": 0.5, "a_flipping": 0.0, "b_retried": 0.75}
    a = rates(client.get("/p/duo/c/A/").content.decode(), "flaky-title")
    b = rates(client.get("/p/duo/c/B/").content.decode(), "flaky-title")
    # a_flipping flips without a retry and no detector marked it (yet): flaky page only.
    assert a == {"a_retried": 0.5}
    assert b == {"b_retried": 0.75}


def test_a_test_the_detectors_marked_flaky_is_listed_without_a_retry(client, duo):
    test = Test.objects.get(project=duo, name="a_flipping")
    TestState.objects.create(
        test=test, project=duo, state=TestState.State.FLAKY, since=timezone.now()
    )
    a = rates(client.get("/p/duo/c/A/").content.decode(), "flaky-title")
    assert a == {"a_retried": 0.5, "a_flipping": 0.0}


def test_the_test_page_shows_the_flaky_page_rate(client, duo):
    test = Test.objects.get(project=duo, name="b_retried")
    html = client.get(f"/p/duo/tests/{test.pk}/").content.decode()
    assert "<dt>Flake rate</dt><dd>75.0%<small>passed on retry in 3 of 4 runs" in html


def test_marking_fixed_takes_a_test_off_the_category_page_and_resets_its_rate(client, duo):
    test = Test.objects.get(project=duo, name="a_retried")
    test_mark_active(project=duo, test=test, actor="user:ann", reason="fixed in #9")
    assert "a_retried" not in flaky_page_rates(client)
    category = client.get("/p/duo/c/A/").content.decode()
    assert rates(category, "flaky-title") == {}
    assert "No flaky tests in the detectors' window." in category
    page = client.get(f"/p/duo/tests/{test.pk}/").content.decode()
    assert "<dt>Flake rate</dt><dd>—</dd>" in page
