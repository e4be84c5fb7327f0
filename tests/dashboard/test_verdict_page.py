"""The verdict on the run page: the line, the gates, the lists linking to tests."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.dashboard.analytics_data import F, P, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)

# Anonymous request to /p/<slug>/runs/<key>/ when every verdict list has tests:
#  1-6. the run page without the verdict: project, run, previous run on the branch
#       (none: the first run of the branch, so no comparison), rollup, category
#       rollups, uploads
#  7-9. verdict: base run, both rollups, the counts of every list
# 10-12. verdict: new failures, fixed, flaky (+ test, category)
# 13. verdict: the new failures' results in the branch's recent runs (failing since)
# 14. verdict: the project's CODEOWNERS (the listed tests' owners)
# 15. navigation: projects the user may see
RUN_PAGE_QUERIES = 15


@pytest.fixture
def project():
    project = ProjectFactory(slug="vp", is_public=True)
    make_run(project, "m1", T0, [("a", P, "Auth"), ("b", F, "Auth"), ("c", P, "Cache")])
    make_run(
        project,
        "f1",
        T0 + timedelta(hours=1),
        [("a", F, "Auth"), ("b", P, "Auth", True), ("c", P, "Cache"), ("<new>", F, "Cache")],
        branch="feat",
    )
    return project


def test_run_page_shows_the_verdict_with_links(client, project, django_assert_num_queries):
    with django_assert_num_queries(RUN_PAGE_QUERIES):
        response = client.get("/p/vp/runs/f1/")
    html = response.content.decode()
    assert "Against main (" in html
    assert "<strong>2 new failures</strong>, 1 fixed, 0 still failing, 1 flaky" in html
    assert 'data-new-failure="a"' in html and 'data-fixed="b"' in html and 'data-flaky="b"' in html
    assert 'data-gate="new-failures"' in html and "new-failures: fail" in html
    assert "&lt;new&gt;" in html and "<new>" not in html  # names are escaped
    assert "/p/vp/tests/" in html and 'href="/p/vp/runs/f1/"><code>f1</code>' in html


def test_run_without_base_says_so(client):
    project = ProjectFactory(slug="solo", is_public=True)
    make_run(project, "only", T0, [("a", F, "X")])
    html = client.get("/p/solo/runs/only/").content.decode()
    assert "No base run" in html and "1 not passing" in html
