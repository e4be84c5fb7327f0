"""Pure verdict figures: change in points, failing streaks, first lines of messages."""

from dashboard.analytics.verdict import delta_points, message_first_line, streak_start


def test_delta_points_is_rounded_points_or_none():
    assert delta_points(rate=0.8415, base_rate=0.8293) == 1.22
    assert delta_points(rate=0.5, base_rate=None) is None
    assert delta_points(rate=None, base_rate=0.5) is None


def test_streak_starts_at_the_oldest_result_not_passing_since_the_last_pass():
    history = [("r5", False), ("r4", False), ("r3", True), ("r2", False)]
    assert streak_start(history=history) == ("r4", 2)
    assert streak_start(history=[("r5", True), ("r4", False)]) == (None, 0)
    assert streak_start(history=[]) == (None, 0)
    assert streak_start(history=[("a", False), ("b", False)]) == ("b", 2)


def test_message_first_line_skips_blank_lines_and_is_cut():
    assert message_first_line("\n  \n  AssertionError: x\ntrace") == "AssertionError: x"
    long = message_first_line("y" * 500)
    assert len(long) == 200 and long.endswith("…")
    assert message_first_line("") == ""
