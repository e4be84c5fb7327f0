"""Pure flaky detectors: defaults, bounds, lift and message grouping."""

from dashboard.analytics.flaky_rules import (
    FAILURE_RATE,
    PASS_ON_RETRY,
    Policy,
    detect,
    history_counts,
    message_groups,
    message_key,
    policy_errors,
    should_lift,
)

DEFAULT = Policy()


def test_documented_defaults():
    assert (DEFAULT.retry_k, DEFAULT.retry_n) == (2, 20)
    assert (DEFAULT.rate_low, DEFAULT.rate_high, DEFAULT.rate_flips, DEFAULT.rate_n) == (
        0.1,
        0.9,
        4,
        30,
    )
    assert DEFAULT.lift_after == 10
    assert DEFAULT.window == 30
    assert policy_errors(DEFAULT) == []


def test_pass_on_retry_needs_k_retries_within_the_last_n_runs():
    assert detect("p" * 10 + "r" + "p" * 5, DEFAULT) is None
    assert detect("p" * 10 + "r" + "p" * 5 + "r", DEFAULT) == PASS_ON_RETRY
    # The first retry is 21 runs back: outside the last 20.
    assert detect("r" + "p" * 19 + "r", DEFAULT) is None
    assert detect("r" + "p" * 18 + "r", DEFAULT) == PASS_ON_RETRY


def test_pass_on_retry_can_be_disabled():
    assert detect("rr", Policy(retry_enabled=False)) is None


def test_failure_rate_within_bounds_with_enough_flips():
    # 4 failures in 10 runs, 8 flips.
    assert detect("pfpfpfpfpp", DEFAULT) == FAILURE_RATE
    # Same rate, only one flip: a test that broke and stays broken is not flaky.
    assert detect("ppppppffff", DEFAULT) is None


def test_default_failure_rate_bounds_are_inclusive():
    # 3 failures in 30 runs (10 %), 6 flips: at the low bound.
    low = ("p" * 9 + "f") * 3
    assert detect(low, DEFAULT) == FAILURE_RATE
    # 2 in 30 (6.7 %): below it.
    assert detect("p" * 10 + low[-20:], DEFAULT) is None
    # 27 in 30 (90 %), 6 flips: at the high bound; 28 in 30 is above.
    high = ("f" * 9 + "p") * 3
    assert detect(high, DEFAULT) == FAILURE_RATE
    assert detect("f" * 10 + high[-20:], DEFAULT) is None


def test_failure_rate_exactly_at_bounds():
    policy = Policy(rate_flips=1, retry_enabled=False, rate_low=0.5, rate_high=0.5)
    assert detect("pfpf", policy) == FAILURE_RATE
    assert detect("pfff", policy) is None
    assert detect("ppfp", policy) is None


def test_failure_rate_ignores_skips_and_looks_at_the_last_n_runs():
    policy = Policy(rate_flips=2, rate_n=4, retry_enabled=False)
    assert detect("pfps", policy) == FAILURE_RATE
    assert detect("pfp" + "pppp", policy) is None


def test_lift_after_r_passes_in_a_row():
    assert should_lift("f" + "p" * 10, DEFAULT)
    assert not should_lift("f" + "p" * 9, DEFAULT)
    assert not should_lift("p" * 9 + "r", DEFAULT)
    assert should_lift("ppp", Policy(lift_after=3))


def test_invalid_policies_are_explained():
    assert policy_errors(Policy(retry_k=0))
    assert policy_errors(Policy(retry_k=21))
    assert policy_errors(Policy(rate_low=0.6, rate_high=0.5))
    assert policy_errors(Policy(rate_n=500))
    assert policy_errors(Policy(rate_flips=0))


def test_history_counts():
    counts = history_counts("pfrsp")
    assert counts == {
        "runs": 4,
        "broke": 1,
        "retried": 1,
        "flake_rate": 0.25,
        "failure_rate": 0.5,
        "flips": 2,
    }


def test_messages_grouped_by_shape():
    groups = message_groups(
        [
            "Timeout after 30.5s waiting for port 8123",
            "Timeout after 31s waiting for port 9001",
            "AssertionError: expected 3 got 4\n  at line 12",
            "Timeout after 29s waiting for port 8000",
        ]
    )
    assert [g["count"] for g in groups] == [3, 1]
    assert groups[0]["example"].startswith("Timeout after 30.5s")
    assert message_key("id 0xdeadbeef at 12") == "id # at #"
