"""runs_compare: where the change came from, with the delta-passed identity."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.models import RunStats
from dashboard.selectors.compare import runs_compare
from tests.dashboard.analytics_data import E, F, P, S, example_runs, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)
T1 = T0 + timedelta(days=1)


def identity(f: dict) -> int:
    return f["fixed"] - f["regressed"] + f["added_passing"] - f["removed_passing"]


def test_design_example_change_comes_from_categories():
    project = ProjectFactory()
    base, head = example_runs(project, T0, T1)
    result = runs_compare(project=project, base_run=base, head_run=head)
    overall = result["overall"]
    assert overall["delta_passed"] == 98 == identity(overall)
    assert overall["fixed"] == 98 and overall["regressed"] == 0
    assert (result["base"]["passed"], result["head"]["passed"]) == (523, 621)
    by_name = {c["name"]: c for c in result["categories"]}
    named = sum(c["delta_passed"] for n, c in by_name.items() if n != "Other")
    assert named == 36
    assert by_name["Other"]["delta_passed"] == 62
    assert by_name["Plex"]["fixed"] == 10
    assert result["identity_holds"] is True


MIXED_BASE = [
    ("fixed", F, "A"),
    ("regressed", P, "A"),
    ("same_pass", P, "A"),
    ("same_fail", F, "A"),
    ("removed_pass", P, "A"),
    ("removed_fail", E, "B"),
    ("to_skip", P, "B"),
    ("moved_pass", P, "A"),  # moves to B and keeps passing
    ("moved_fix", F, "A"),  # moves to B and starts passing
    ("flaky_pass", P, "B"),
]
MIXED_HEAD = [
    ("fixed", P, "A"),
    ("regressed", F, "A"),
    ("same_pass", P, "A"),
    ("same_fail", F, "A"),
    ("added_pass", P, "B"),
    ("added_fail", F, "B"),
    ("to_skip", S, "B"),
    ("moved_pass", P, "B"),
    ("moved_fix", P, "B"),
    ("flaky_pass", P, "B", True),
]


def mixed(**project_kwargs):
    project = ProjectFactory(**project_kwargs)
    base = make_run(project, "base", T0, MIXED_BASE)
    head = make_run(project, "head", T1, MIXED_HEAD)
    return project, base, head


def test_every_kind_of_change_is_counted_once():
    project, base, head = mixed()
    result = runs_compare(project=project, base_run=base, head_run=head)
    o = result["overall"]
    assert o["fixed"] == 2  # fixed, moved_fix
    assert o["regressed"] == 2  # regressed, to_skip (skipped is not passing)
    assert (o["added_passing"], o["added_not_passing"]) == (1, 1)
    assert (o["removed_passing"], o["removed_not_passing"]) == (1, 1)
    assert o["newly_skipped"] == 1
    assert o["flaky"] == 1
    assert o["delta_passed"] == identity(o)
    # The identity agrees with the rollups.
    stats = {s.run_id: s.passed for s in RunStats.objects.filter(run__in=[base, head])}
    assert o["delta_passed"] == stats[head.pk] - stats[base.pk]
    assert result["identity_holds"]


def test_identity_holds_per_category_when_tests_move():
    project, base, head = mixed()
    result = runs_compare(project=project, base_run=base, head_run=head)
    by_name = {c["name"]: c for c in result["categories"]}
    for figures in by_name.values():
        assert figures["delta_passed"] == identity(figures)
    assert by_name["A"]["moved_out"] == 2 and by_name["B"]["moved_in"] == 2
    # moved_pass and moved_fix leave A (one passing there) and join B (both passing).
    assert by_name["A"]["removed_passing"] == 2  # removed_pass + moved_pass
    assert by_name["B"]["added_passing"] == 3  # added_pass + moved_pass + moved_fix
    assert sum(c["delta_passed"] for c in by_name.values()) == result["overall"]["delta_passed"]


def test_flaky_pass_is_not_passing_when_project_says_so():
    project, base, head = mixed(flaky_counts_as_pass=False)
    result = runs_compare(project=project, base_run=base, head_run=head)
    o = result["overall"]
    assert o["regressed"] == 3  # flaky_pass now counts as not passing
    assert o["delta_passed"] == identity(o)
    stats = {s.run_id: s.passed for s in RunStats.objects.filter(run__in=[base, head])}
    assert o["delta_passed"] == stats[head.pk] - stats[base.pk]


def test_totals_follow_skipped_setting():
    project, base, head = mixed(skipped_in_total=False)
    result = runs_compare(project=project, base_run=base, head_run=head)
    assert result["overall"]["head_total"] == 9
    assert result["overall"]["base_total"] == 10


def test_changes_list_is_capped_with_totals_and_sorted_by_severity():
    project, base, head = mixed()
    result = runs_compare(project=project, base_run=base, head_run=head, limit=3)
    assert result["changes_total"] == 9  # 8 changed (to_skip is a regression) + 1 flaky
    assert result["changes_truncated"] is True
    assert [c["change"] for c in result["changes"]] == ["regressed", "regressed", "removed_passing"]
    assert result["changes"][0]["name"] in {"regressed", "to_skip"}
    full = runs_compare(project=project, base_run=base, head_run=head)
    kinds = {c["name"]: c["change"] for c in full["changes"]}
    assert kinds["flaky_pass"] == "flaky"
    assert kinds["added_fail"] == "added_not_passing"
    assert full["changes"][0]["base_outcome"] == "passed"


@pytest.mark.parametrize("changed", [2, 40])
def test_compare_query_count_does_not_grow_with_changed_tests(changed, django_assert_num_queries):
    project = ProjectFactory()
    base = make_run(project, "b", T0, [(f"t{i}", F, "A") for i in range(changed)])
    head = make_run(project, "h", T1, [(f"t{i}", P, "A") for i in range(changed)])
    # 1: base results, 2: head results, 3: names of the categories involved,
    # 4: the project's CODEOWNERS, 5: names (and files) of the changed tests shown.
    with django_assert_num_queries(5):
        result = runs_compare(project=project, base_run=base, head_run=head)
    assert result["overall"]["fixed"] == changed
