"""Targets typed as percents, stored as basis points (9050 = 90.50 %): exact, no floats.

Pure (no Django): the project settings forms, ``createproject`` and the project
service all convert with these two functions.
"""

from decimal import Decimal, InvalidOperation

BP_PER_PERCENT = 100


def percent_to_bp(percent: Decimal | int | str | None) -> int | None:
    """Return a pass-rate target in percent (e.g. ``Decimal("90")``) as basis points.

    None stays None (no target). Raise ValueError when it is not a number, outside
    0..100, or finer than 0.01 %, rather than rounding: the target decides "tests
    needed" and must be exactly what was asked.
    """
    if percent is None:
        return None
    try:
        value = Decimal(str(percent))
    except InvalidOperation:
        raise ValueError(f"the target {percent!r} is not a number") from None
    if not value.is_finite() or value < 0 or value > 100:
        raise ValueError(f"the target must be between 0 and 100 percent, not {percent}")
    bp = value * BP_PER_PERCENT
    if bp != bp.to_integral_value():
        raise ValueError(f"the target {percent} % has more than two decimal places")
    return int(bp)


def bp_to_percent(bp: int | None) -> Decimal | None:
    """Return basis points as a percent Decimal with 2 decimals (9050 -> 90.50); None stays."""
    if bp is None:
        return None
    return (Decimal(bp) / BP_PER_PERCENT).quantize(Decimal("0.01"))
