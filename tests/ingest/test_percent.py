"""ingest.percent: targets typed in percent, stored exactly in basis points."""

from decimal import Decimal

import pytest

from ingest.percent import bp_to_percent, percent_to_bp


@pytest.mark.parametrize(
    ("percent", "bp"),
    [(Decimal("90"), 9000), (Decimal("84.1"), 8410), ("0", 0), ("100", 10000), (92.5, 9250)],
)
def test_percent_round_trips_through_basis_points(percent, bp):
    assert percent_to_bp(percent) == bp
    assert bp_to_percent(bp) == Decimal(str(percent)).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("percent", "message"),
    [
        ("abc", "not a number"),
        ("NaN", "between 0 and 100"),
        ("-1", "between 0 and 100"),
        ("100.01", "between 0 and 100"),
        ("90.123", "more than two decimal places"),
    ],
)
def test_percent_refuses_rather_than_rounds(percent, message):
    with pytest.raises(ValueError, match=message):
        percent_to_bp(percent)


def test_no_target_stays_none():
    assert percent_to_bp(None) is None and bp_to_percent(None) is None
