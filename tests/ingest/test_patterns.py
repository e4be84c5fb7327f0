"""Category-rule patterns run in linear time: the known ReDoS bypasses are bounded.

The fault test runs the hostile matches in a child process with a timeout, so a
backtracking engine fails the test (it would take hours) instead of hanging the suite.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.categorize import CategoryMatcher
from ingest.patterns import PatternError, pattern_check, pattern_compile

REPO_ROOT = Path(__file__).resolve().parent.parent.parent

# The bypasses of the old backtracking guard (issue 13), and relatives of theirs.
HOSTILE = [
    ("regex", "(?>(a+)+c)"),
    ("regex", "(a|a)*c"),
    ("regex", "a{0,100}a{0,100}a{0,100}a{0,100}c"),
    ("regex", "(a+)+c"),
    ("regex", r"(\w+\s?)*$"),
    ("regex", "(?:.{0,100}){10}c"),
    ("glob", "*a*a*a*a*a*a*a*a*a*a*b"),
]

_PROBE = """
import json, sys, time
from ingest.patterns import PatternError, pattern_compile
out = {}
for kind, pattern in json.loads(sys.argv[1]):
    try:
        match = pattern_compile(kind=kind, pattern=pattern)
    except PatternError:
        out[pattern] = None
        continue
    worst = 0.0
    for name in ("a" * 1000, "a" * 999 + "!", "word " * 199 + "!!!!!"):
        best = min(
            (lambda t: (match(name), time.perf_counter() - t)[1])(time.perf_counter())
            for _ in range(3)
        )
        worst = max(worst, best)
    out[pattern] = worst
print(json.dumps(out))
"""


def test_hostile_patterns_are_refused_or_match_1000_characters_in_linear_time():
    # The 100 ms budget is measured by benchmarks/regex_rules.py; a timed test on a busy
    # CI machine only has to tell linear time (milliseconds) from backtracking (years).
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HOSTILE)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,  # a backtracking engine needs years here
    )
    assert result.returncode == 0, result.stderr
    worst = json.loads(result.stdout)
    assert worst.pop("(?>(a+)+c)") is None  # atomic groups need backtracking: refused
    assert set(worst) == {p for _, p in HOSTILE} - {"(?>(a+)+c)"}
    slow = {pattern: seconds for pattern, seconds in worst.items() if seconds > 1.0}
    assert slow == {}, f"per-match time over 1 s (best of 3): {slow}"


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("(a|a)*c", "a" * 999 + "c", True),
        ("(a|a)*c", "a" * 1000, False),
        ("^tests/api/", "tests/api/x.py", True),
        ("^tests/api/", "src/tests/api/x.py", False),
        ("login", "auth.LoginTest::test_login_ok", True),
        (r"\d{4}-\d{2}", "run 2024-05", True),
        ("(?i)LOGIN", "test_login", True),
        ("é+b", "xxééb", True),
    ],
)
def test_regex_is_searched_anywhere_in_the_value(pattern, value, expected):
    assert pattern_compile(kind="regex", pattern=pattern)(value) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("tests/api/*", "tests/api/deep/x.py", True),
        ("tests/api/*", "src/tests/api/x.py", False),
        ("a?.py", "ab.py", True),
        ("a?.py", "ab.pyc", False),
        ("[!x]*", "yes", True),
        ("Auth*", "auth", False),
    ],
)
def test_glob_matches_the_whole_value_case_sensitively(pattern, value, expected):
    assert pattern_compile(kind="glob", pattern=pattern)(value) is expected


def test_refusal_says_why_and_what_to_write_instead():
    with pytest.raises(PatternError, match="linear time"):
        pattern_check(kind="regex", pattern="(?=a)b")
    with pytest.raises(PatternError, match=r"Write \$"):
        pattern_check(kind="regex", pattern=r"end\Z")
    with pytest.raises(PatternError, match="too large"):
        pattern_check(kind="regex", pattern=".{0,1000}" * 10)
    with pytest.raises(PatternError, match="Choose glob"):
        pattern_check(kind="sql", pattern="x")


def test_matcher_categorises_1000_character_names_with_a_hostile_rule():
    rules = [("name", pattern_compile(kind="regex", pattern="(a|a)*c"), 7)]
    matcher = CategoryMatcher(rules=rules, default_id=1)
    assert matcher.category_for(file="", classname="", suite="", name="a" * 1000) == 1
    assert matcher.category_for(file="", classname="", suite="", name="a" * 999 + "c") == 7
