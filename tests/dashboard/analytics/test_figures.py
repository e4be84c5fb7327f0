"""Pure analytics: the effective target, a scope's figures, outcomes."""

import pytest

from dashboard.analytics import outcomes
from dashboard.analytics.figures import scope_figures
from dashboard.analytics.targets import effective_target_bp
from ingest.models import Result


def test_category_target_of_zero_is_an_explicit_target():
    assert effective_target_bp(project_bp=9000, category_bp=0) == 0
    assert effective_target_bp(project_bp=9000, category_bp=None) == 9000
    assert effective_target_bp(project_bp=9000, category_bp=9500) == 9500


def test_scope_figures_of_the_design_example():
    figures = scope_figures(passed=621, total=738, base_passed=523, base_total=738, target_bp=9000)
    assert figures["tests_needed"] == 44
    assert figures["not_passing"] == 117
    assert figures["progress"] == pytest.approx(0.69, abs=0.005)
    assert figures["change"] == pytest.approx(98 / 738)
    assert figures["target"] == 0.9 and figures["target_reached"] is False


def test_scope_figures_with_a_zero_target_need_nothing():
    figures = scope_figures(passed=1, total=10, base_passed=0, base_total=10, target_bp=0)
    assert (figures["tests_needed"], figures["target_reached"]) == (0, True)
    assert figures["progress"] is None
    assert figures["progress_note"] == "the baseline already met the target"


def test_scope_figures_without_baseline_or_results():
    figures = scope_figures(passed=0, total=0, base_passed=None, base_total=None, target_bp=9000)
    assert figures["pass_rate"] is None and figures["change"] is None
    assert figures["progress"] is None and figures["progress_note"] == "no baseline"
    assert figures["target_reached"] is False


def test_outcome_values_are_ingests():
    assert {o.value: o.label for o in Result.Outcome} == outcomes.NAMES


def test_passing_follows_the_flaky_setting():
    assert outcomes.is_passing(outcome=outcomes.PASSED, flaky=True, flaky_counts_as_pass=True)
    assert not outcomes.is_passing(outcome=outcomes.PASSED, flaky=True, flaky_counts_as_pass=False)
    assert not outcomes.is_passing(outcome=outcomes.SKIPPED, flaky=False, flaky_counts_as_pass=True)
