"""Time, timestamp and attempt-merging rules of the JUnit reader."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from ingest.junit import CaseRecord, merge_attempts, parse_duration, parse_timestamp


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("1.5", 1.5),
        (" 2 ", 2.0),
        ("0,288", 0.288),
        ("2,503.1", 2503.1),
        ("1,234,567", 1234567.0),
        ("1e-3", 0.001),
        ("2.5E+2", 250.0),
        ("0.", 0.0),
        (".5", 0.5),
        ("3s", 3.0),
    ],
)
def test_parses_real_world_durations(value, seconds):
    parsed, problem = parse_duration(value)
    assert problem is None
    assert parsed == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "*",
        "TIME_REDACTED",
        "time",
        "x.x.x.x",
        "-1",
        "-0.5",
        "nan",
        "inf",
        "-inf",
        "1e999",
    ],
)
def test_unusable_durations_become_zero_with_a_reason(value):
    parsed, problem = parse_duration(value)
    assert parsed == 0.0
    assert not math.isnan(parsed)
    assert problem


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2021-04-28T10:36:31", datetime(2021, 4, 28, 10, 36, 31, tzinfo=UTC)),
        ("2020-12-16T03:11:43.526Z", datetime(2020, 12, 16, 3, 11, 43, 526000, tzinfo=UTC)),
        (
            "2021-04-20T08:31:32.8608994+02:00",
            datetime(2021, 4, 20, 6, 31, 32, 860899, tzinfo=UTC),
        ),
        ("2017-05-25 12:57:43Z", datetime(2017, 5, 25, 12, 57, 43, tzinfo=UTC)),
        ("2021-03-07T10:36:56 UTC", datetime(2021, 3, 7, 10, 36, 56, tzinfo=UTC)),
        ("Sat, 03 Dec 2022 23:10:07 GMT", datetime(2022, 12, 3, 23, 10, 7, tzinfo=UTC)),
        ("30 Nov 2022 14:06:32 GMT", datetime(2022, 11, 30, 14, 6, 32, tzinfo=UTC)),
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("1700000000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ],
)
def test_parses_timestamps_to_aware_utc(value, expected):
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [None, "", "0", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "TIMESTAMP", "yesterday", "*"],
)
def test_placeholder_timestamps_are_unknown(value):
    assert parse_timestamp(value) is None


def test_offsets_are_converted_not_dropped():
    parsed = parse_timestamp("2024-01-01T01:00:00+01:00")
    assert parsed == datetime(2024, 1, 1, tzinfo=UTC)


def case(outcome: str, **changes) -> CaseRecord:
    values = dict(
        classname="c",
        name="n",
        file="",
        line=None,
        suite="s",
        outcome=outcome,
        flaky=False,
        attempts=1,
        duration=1.0,
        message="" if outcome == "passed" else f"{outcome} message",
    )
    values.update(changes)
    return CaseRecord(**values)


@pytest.mark.parametrize(
    "first, second, outcome, flaky",
    [
        ("passed", "passed", "passed", False),
        ("failed", "passed", "passed", True),
        ("passed", "error", "passed", True),
        ("failed", "error", "error", False),
        ("failed", "skipped", "failed", False),
        ("skipped", "skipped", "skipped", False),
        ("skipped", "passed", "passed", False),
    ],
)
def test_merge_passes_if_any_attempt_passed(first, second, outcome, flaky):
    merged = merge_attempts(case(first), case(second))
    assert (merged.outcome, merged.flaky) == (outcome, flaky)
    assert merge_attempts(case(second), case(first)).outcome == outcome


def test_merge_adds_attempts_and_durations_and_keeps_the_failure_message():
    merged = merge_attempts(
        case("passed", attempts=2, duration=0.5, file="t.py"), case("failed", duration=2.0)
    )
    assert merged.attempts == 3
    assert merged.duration == 2.5
    assert merged.message == "failed message"
    assert merged.file == "t.py"


def test_merge_keeps_an_already_flaky_attempt_flaky():
    merged = merge_attempts(case("passed", flaky=True, message="flake"), case("passed"))
    assert merged.flaky is True
    assert merged.message == "flake"
