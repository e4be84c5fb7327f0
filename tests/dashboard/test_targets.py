"""Exact target arithmetic, checked against the DESIGN example."""

import pytest

from dashboard.analytics import targets
from dashboard.analytics.targets import progress, target_reached
from tests.dashboard.analytics_data import EXAMPLE


def test_tests_needed_matches_design_example():
    # ceil(0.90 x 738) - 621 = 665 - 621 = 44, not 142.
    assert targets.tests_needed(target_bp=9000, passed=621, total=738) == 44


def test_tests_needed_is_exact_at_the_boundary():
    # 0.9 x 10 is exactly 9: a float product (8.999...) must not round the wrong way.
    assert targets.tests_needed(target_bp=9000, passed=8, total=10) == 1
    assert targets.tests_needed(target_bp=9000, passed=9, total=10) == 0
    # 0.29 x 100 = 28.999999999999996 in binary floats; the exact answer is 29.
    assert targets.tests_needed(target_bp=2900, passed=0, total=100) == 29


def test_tests_needed_is_never_negative():
    assert targets.tests_needed(target_bp=9000, passed=738, total=738) == 0
    assert targets.tests_needed(target_bp=0, passed=0, total=5) == 0
    assert targets.tests_needed(target_bp=9000, passed=0, total=0) == 0


@pytest.mark.parametrize(
    ("target_bp", "passed", "total"), [(10001, 1, 1), (-1, 1, 1), (9000, 5, 4), (9000, -1, 4)]
)
def test_tests_needed_rejects_impossible_input(target_bp, passed, total):
    with pytest.raises(ValueError):
        targets.tests_needed(target_bp=target_bp, passed=passed, total=total)


def test_target_reached_is_exact():
    assert target_reached(target_bp=9000, passed=665, total=738)
    assert not target_reached(target_bp=9000, passed=664, total=738)
    assert not target_reached(target_bp=9000, passed=621, total=738)
    assert not target_reached(target_bp=0, passed=0, total=0)


def test_progress_matches_design_example():
    # (84.1 - 70.8) / (90 - 70.8) = 69 %, not 85 %. Exactly: (98/738) / (0.9 - 523/738)
    # = 98 / 141.2 = 0.69405 (the rounded percentages in the report give 0.6927).
    result = progress(target_bp=9000, passed=621, total=738, base_passed=523, base_total=738)
    assert result.value == pytest.approx(98 / 141.2, abs=1e-12)
    assert round(result.value * 100) == 69
    assert result.reason == ""


def test_progress_of_example_categories():
    expected = {
        "Plex": (28 / 32 - 18 / 32) / (0.9 - 18 / 32),
        "Cache": (16 / 18 - 12 / 18) / (0.9 - 12 / 18),
        "Auth": None,  # 19/20 = 95 % is over the target: capped at 1
        "Database": (28 / 30 - 25 / 30) / (0.9 - 25 / 30),
    }
    for name, value in expected.items():
        (before, after), total = EXAMPLE[name]
        result = progress(
            target_bp=9000, passed=after, total=total, base_passed=before, base_total=total
        )
        if value is None or value > 1:
            assert result.value == 1.0
            assert "capped" in result.reason
        else:
            assert result.value == pytest.approx(value)


def test_progress_is_capped_and_explained():
    above = progress(target_bp=9000, passed=10, total=10, base_passed=5, base_total=10)
    assert above.value == 1.0
    assert above.raw == pytest.approx(1.25)
    assert "capped at 100%" in above.reason
    below = progress(target_bp=9000, passed=4, total=10, base_passed=5, base_total=10)
    assert below.value == 0.0
    assert below.raw < 0
    assert "below the baseline" in below.reason


def test_progress_is_none_when_baseline_already_met_target():
    result = progress(target_bp=9000, passed=10, total=10, base_passed=95, base_total=100)
    assert result.value is None
    assert result.reason == "the baseline already met the target"


def test_progress_is_none_without_results():
    assert progress(target_bp=9000, passed=0, total=0, base_passed=1, base_total=2).value is None
    assert progress(target_bp=9000, passed=1, total=2, base_passed=0, base_total=0).value is None
