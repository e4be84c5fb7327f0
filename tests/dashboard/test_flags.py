"""Denominator watch: flags for shrinking totals, rising skips and incomplete runs."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.models import RunStats
from tests.dashboard.analytics_data import F, P, S, category_results, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(i: int) -> datetime:
    return T0 + timedelta(days=i)


def flags(run) -> tuple[bool, bool, list[str]]:
    s = RunStats.objects.get(run=run)
    return s.flag_denominator, s.flag_incomplete, s.flag_reasons


def test_total_drop_with_rising_rate_is_flagged():
    project = ProjectFactory()
    make_run(project, "r1", at(0), category_results({"A": (8, 10), "B": (8, 10)}))
    # Two failing tests removed from B: the rate rises from 80 % to 88.9 %.
    run = make_run(project, "r2", at(1), category_results({"A": (8, 10), "B": (8, 8)}))
    denominator, incomplete, reasons = flags(run)
    assert denominator and not incomplete
    rise = "while the pass rate rose from 80.0% to 88.9%"
    assert reasons == [
        f"total fell from 20 to 18 {rise}",
        f"2 tests that were not passing in run r1 vanished from this run {rise} "
        f"(compare: /p/{project.slug}/compare/?base=r1&head=r2)",
    ]


def test_skipping_failures_is_flagged():
    project = ProjectFactory()
    base = [(f"t{i}", P if i < 8 else F, "A") for i in range(10)]
    make_run(project, "r1", at(0), base)
    # Skipped tests stay in the total by default, so skipping cannot raise the rate:
    # exclude them to make the rate rise, as a project may.
    project.skipped_in_total = False
    project.save()
    head = [(f"t{i}", P if i < 8 else S, "A") for i in range(10)]
    run = make_run(project, "r2", at(1), head)
    denominator, _, reasons = flags(run)
    assert denominator
    assert any(r.startswith("skipped rose from 0 to 2") for r in reasons)


def test_honest_improvement_is_not_flagged():
    project = ProjectFactory()
    make_run(project, "r1", at(0), category_results({"A": (8, 10)}))
    run = make_run(project, "r2", at(1), category_results({"A": (9, 10)}))
    assert flags(run) == (False, False, [])


def test_falling_total_with_falling_rate_is_not_a_denominator_flag():
    project = ProjectFactory()
    make_run(project, "r1", at(0), category_results({"A": (9, 10)}))
    run = make_run(project, "r2", at(1), category_results({"A": (5, 9)}))
    assert flags(run)[0] is False


def test_missing_shard_is_flagged_incomplete():
    project = ProjectFactory()
    spec = {"A": (8, 10), "B": (8, 10), "C": (8, 10)}
    for i in range(5):
        make_run(project, f"r{i}", at(i), category_results(spec))
    run = make_run(project, "shard", at(6), category_results({"A": (9, 10), "B": (9, 10)}))
    _, incomplete, reasons = flags(run)
    assert incomplete
    assert "category C has no results (it had results in 5 of the last 5 complete runs)" in reasons


def test_tiny_total_is_flagged_incomplete():
    project = ProjectFactory()
    for i in range(4):
        make_run(project, f"r{i}", at(i), category_results({"A": (80, 100)}))
    run = make_run(project, "tiny", at(5), category_results({"A": (40, 45)}))
    _, incomplete, reasons = flags(run)
    assert incomplete
    assert reasons[-1] == "total 45 is below 0.5 x the median total 100 of the last 4 complete runs"


def test_incomplete_thresholds_are_settings(settings):
    settings.PASSLINE_INCOMPLETE_TOTAL_RATIO = 0.4
    project = ProjectFactory()
    for i in range(4):
        make_run(project, f"r{i}", at(i), category_results({"A": (80, 100)}))
    run = make_run(project, "tiny", at(5), category_results({"A": (40, 45)}))
    assert flags(run)[1] is False


def test_first_run_is_never_flagged():
    project = ProjectFactory()
    run = make_run(project, "r1", at(0), category_results({"A": (1, 10)}))
    assert flags(run) == (False, False, [])


def test_late_earlier_run_reflags_the_following_run():
    project = ProjectFactory()
    later = make_run(project, "r2", at(2), category_results({"A": (8, 8)}))
    assert flags(later)[0] is False
    make_run(project, "r1", at(1), category_results({"A": (8, 10)}))
    assert flags(later)[0] is True


def _issue_spec(*, x_passed: int, x_total: int, with_z: bool = True) -> list[tuple]:
    """X: x_total tests (the first x_passed pass); Y: 50/50; Z: 30/50 unless left out."""
    results = [(f"X.t{i}", P if i < x_passed else F, "X") for i in range(x_total)]
    results += [(f"Y.t{i}", P, "Y") for i in range(50)]
    if with_z:
        results += [(f"Z.t{i}", P if i < 30 else S, "Z") for i in range(50)]
    return results


def test_vanished_failures_are_flagged_against_the_last_run_not_flagged_incomplete():
    """The issue's sequence: 144/200, an incomplete 114/150, then 144/164 with 36 gone."""
    project = ProjectFactory()
    for i in range(3):
        make_run(project, f"r{i}", at(i), _issue_spec(x_passed=64, x_total=100))
    full = make_run(project, "full", at(3), _issue_spec(x_passed=64, x_total=100))
    assert RunStats.objects.get(run=full).total == 200
    assert flags(full) == (False, False, [])
    # A run missing the whole Z category: flagged incomplete.
    shard = make_run(project, "shard", at(4), _issue_spec(x_passed=64, x_total=100, with_z=False))
    stats = RunStats.objects.get(run=shard)
    assert (stats.passed, stats.total, stats.flag_incomplete) == (114, 150, True)
    # The 36 not-passing tests of X vanish: 144/164 = 87.8% with no test fixed.
    head = make_run(project, "head", at(5), _issue_spec(x_passed=64, x_total=64))
    stats = RunStats.objects.get(run=head)
    assert (stats.passed, stats.total) == (144, 164)
    assert stats.compared_run_id == full.pk  # not the incomplete shard
    rise = "while the pass rate rose from 72.0% to 87.8%"
    assert stats.flag_denominator and not stats.flag_incomplete
    assert stats.flag_reasons == [
        f"total fell from 200 to 164 {rise}",
        f"36 tests that were not passing in run full vanished from this run {rise} "
        f"(compare: /p/{project.slug}/compare/?base=full&head=head)",
    ]


def test_vanished_failures_flagged_even_when_the_total_did_not_fall():
    project = ProjectFactory()
    make_run(project, "r1", at(0), category_results({"A": (8, 10)}))
    # Two failing tests replaced by two new passing ones: same total, rate 80% -> 100%.
    head = [(f"A.t{i}", P, "A") for i in range(8)] + [("new1", P, "A"), ("new2", P, "A")]
    run = make_run(project, "r2", at(1), head)
    denominator, incomplete, reasons = flags(run)
    assert denominator and not incomplete
    assert reasons == [
        "2 tests that were not passing in run r1 vanished from this run while the pass rate "
        f"rose from 80.0% to 100.0% (compare: /p/{project.slug}/compare/?base=r1&head=r2)"
    ]


def test_removed_passing_tests_are_not_vanished_failures():
    project = ProjectFactory()
    make_run(project, "r1", at(0), category_results({"A": (8, 10)}))
    # Two passing tests gone, two failures fixed: the rate rises honestly-ish, total falls.
    head = [(f"A.t{i}", P, "A") for i in range(2, 10)]
    run = make_run(project, "r2", at(1), head)
    _, _, reasons = flags(run)
    assert reasons == ["total fell from 10 to 8 while the pass rate rose from 80.0% to 100.0%"]


def test_pages_link_the_vanished_tests_to_the_compare_page(client):
    project = ProjectFactory(is_public=True)
    make_run(project, "r1", at(0), category_results({"A": (8, 10), "B": (8, 10)}))
    make_run(project, "r2", at(1), category_results({"A": (8, 10), "B": (8, 8)}))
    compare = f"/p/{project.slug}/compare/?base=r1&amp;head=r2"
    link = f'(<a href="{compare}">compare the runs</a>)'
    for path in (f"/p/{project.slug}/", f"/p/{project.slug}/runs/r2/"):
        response = client.get(path)
        assert response.status_code == 200
        html = response.content.decode()
        assert f"vanished from this run while the pass rate rose from 80.0% to 88.9% {link}" in html
        # No reason shows its compare path as text (the data-figures attributes keep it).
        assert not re.search(r">[^<]*\(compare: /p/", html)
    # On the overview each reason is an item of its own, not run together.
    overview = client.get(f"/p/{project.slug}/").content.decode()
    assert '<li class="muted">total fell from 20 to 18 while' in overview


def test_flag_reason_links_only_a_site_path_and_escapes_the_rest():
    from dashboard.templatetags.passline import flag_reason

    assert flag_reason("x <b> (compare: /p/a/compare/?base=1&head=2)") == (
        'x &lt;b&gt; (<a href="/p/a/compare/?base=1&amp;head=2">compare the runs</a>)'
    )
    # Anything but a site-relative /p/ path stays text.
    assert flag_reason("x (compare: https://evil.example/)") == (
        "x (compare: https://evil.example/)"
    )
    assert flag_reason('x (compare: /p/a" onmouseover="y)') == (
        "x (compare: /p/a&quot; onmouseover=&quot;y)"
    )
