"""Check and compile category-rule patterns into predicates that run in linear time.

A rule is matched against every test name of every upload, and names may be 1,000
characters long, so a pattern must never backtrack. Each kind has a linear-time engine:

- **regex**: RE2 (google-re2), searched anywhere in the value like ``re.search``. RE2 runs
  a DFA or an NFA simulation and never backtracks: ``(a+)+c``, ``(a|a)*c`` or
  ``a{0,100}a{0,100}a{0,100}a{0,100}c`` cost a few milliseconds on 1,000 characters.
  Features that need backtracking are refused when the rule is saved: backreferences,
  lookarounds (``(?=…)``, ``(?<!…)``), atomic groups ``(?>…)`` and possessive
  quantifiers (``a*+``). Each compiled rule may use at most ``RE2_MAX_MEM`` bytes, which
  bounds both its program size (a larger pattern is refused as "too large") and its DFA
  cache; past that budget RE2 falls back to its NFA, still linear.
- **glob**: ``fnmatch.fnmatchcase`` semantics (case-sensitive, ``*`` crosses ``/``, the
  whole value must match). Python 3.11+ translates each ``*`` into an atomic group, so a
  match costs O(len(value) x len(pattern)) whatever the number of ``*``.

This module is pure (no Django): settings forms, the Django admin, the live preview and
ingest's categoriser all check and compile patterns here, so one rule behaves the same
everywhere.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

import re2

# ``re2._re2`` is the binding under the ``re2`` module's pure-Python wrapper. A rule is
# only asked "does it match?", and calling the binding directly costs ~1 µs per value
# instead of ~4 µs for the wrapper's Match object, which ingest pays per test name.
from re2 import _re2

MAX_PATTERN_LENGTH = 500
# Per compiled regex rule: program plus DFA cache. 1 MiB keeps a project's rules small
# in a worker and the NFA fallback fast (≤ 20 ms on 1,000 characters, see benchmarks/).
RE2_MAX_MEM = 1 << 20

_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_NO_MATCH = (-1, -1)


class PatternError(ValueError):
    """A pattern that does not compile or is refused; the message is for people."""


def pattern_check(*, kind: str, pattern: str) -> None:
    """Raise PatternError if `pattern` (kind "glob" or "regex") is invalid or unsupported."""
    pattern_compile(kind=kind, pattern=pattern)


def pattern_compile(*, kind: str, pattern: str) -> Callable[[str], bool]:
    """Return a predicate telling whether a value matches `pattern` of `kind`.

    Regexes are searched anywhere in the value; globs must match the whole value. Raise
    PatternError (with a message for people) when the pattern is empty, too long, does
    not compile or needs a feature the linear-time engine does not have.
    """
    if not pattern:
        raise PatternError("Enter a pattern.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"Keep the pattern under {MAX_PATTERN_LENGTH} characters.")
    if "\x00" in pattern:
        raise PatternError("The pattern contains a NUL character.")
    if kind == "glob":
        return _glob_compile(pattern)
    if kind == "regex":
        return _regex_compile(pattern)
    raise PatternError("Choose glob or regular expression.")


def _glob_compile(pattern: str) -> Callable[[str], bool]:
    try:
        match = re.compile(fnmatch.translate(pattern)).match
    except re.error as exc:  # e.g. an unclosed "[" that fnmatch passes through
        raise PatternError(f"Not a valid glob: {exc}.") from exc
    return lambda value: match(value) is not None


def _regex_options() -> re2.Options:
    options = re2.Options()
    options.max_mem = RE2_MAX_MEM
    options.never_capture = True  # groups are never read; matching gets cheaper
    options.log_errors = False  # errors are raised as PatternError, not printed to stderr
    return options


def _regex_compile(pattern: str) -> Callable[[str], bool]:
    regexp = _re2.RE2(pattern.encode("utf-8"), _regex_options())
    if not regexp.ok():
        raise PatternError(_regex_error(regexp.error()))
    match = regexp.Match

    def search(value: str) -> bool:
        data = value.encode("utf-8", "surrogatepass")
        return match(_UNANCHORED, data, 0, len(data))[0] != _NO_MATCH

    return search


def _regex_error(raw: bytes | str) -> str:
    """Return RE2's compile error as a sentence, naming what to use instead."""
    detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if detail.endswith("\\Z"):
        hint = " Write $ or \\z for the end of the value."
    elif "invalid perl operator" in detail or re.search(r"escape sequence: \\\d", detail):
        hint = (
            " Lookarounds, backreferences, atomic groups and possessive quantifiers are "
            "not supported: rules use RE2, which matches in linear time."
        )
    elif "bad repetition operator" in detail:
        hint = " Possessive (*+) and doubled quantifiers are not supported by RE2."
    elif "too large" in detail:
        hint = " Use fewer or smaller bounded repeats ({n,m}), or a glob."
    else:
        hint = ""
    return f"Not a valid regular expression: {detail}.{hint}"
