"""Flake rate: in how many of its runs a test was flaky."""


def flake_rate(*, flaky_runs: int, window_runs: int) -> float:
    """Return flaky runs / runs with a result in the window (fraction 0..1; 0 without runs)."""
    return flaky_runs / window_runs if window_runs else 0.0
