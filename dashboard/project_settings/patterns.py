"""Check and compile category rule patterns, refusing the ones that could hang a worker.

Globs follow ``fnmatch.fnmatchcase`` (matched against the whole value); Python 3.11+
translates them with atomic groups, so any number of ``*`` is safe. Regular expressions
use ``re.search`` and are refused when they:

- do not compile, or are longer than ``MAX_PATTERN_LENGTH`` characters;
- nest a variable quantifier inside another (``(a+)+``, ``(\\w+\\s?)*``): the classic
  exponential backtracking;
- use more than one unbounded quantifier (``*``, ``+``, ``{n,}`` or a bound above
  ``MAX_BOUNDED_REPEAT``): two of them already cost O(n³) per value on a hostile test
  name (about half a second for 1,000 characters); use a glob for several wildcards;
- use backreferences (``\\1``, ``(?P=name)``) or conditional groups.

Possessive quantifiers (``a*+``) and atomic groups (``(?>…)``) never backtrack and are
not counted. Alternation under a quantifier with overlapping branches (``(a|a)*``) is
not detected; the single-unbounded-quantifier rule keeps its cost polynomial.
"""

import fnmatch
import re
from collections.abc import Callable

try:  # Python 3.11+
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MAX_PATTERN_LENGTH = 500
MAX_BOUNDED_REPEAT = 100

_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT}
_NEVER_BACKTRACK = {getattr(sre_constants, "POSSESSIVE_REPEAT", None), sre_constants.ATOMIC_GROUP}
_REFS = {sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS}


class PatternError(ValueError):
    """A pattern that does not compile or is refused; the message is for people."""


def pattern_check(*, kind: str, pattern: str) -> None:
    """Raise PatternError if `pattern` (kind "glob" or "regex") is invalid or unsafe."""
    if not pattern:
        raise PatternError("Enter a pattern.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"Keep the pattern under {MAX_PATTERN_LENGTH} characters.")
    if "\x00" in pattern:
        raise PatternError("The pattern contains a NUL character.")
    if kind == "glob":
        try:
            re.compile(fnmatch.translate(pattern))
        except re.error as exc:  # e.g. an unclosed "[" that fnmatch passes through
            raise PatternError(f"Not a valid glob: {exc}.") from exc
        return
    if kind != "regex":
        raise PatternError("Choose glob or regular expression.")
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise PatternError(f"Not a valid regular expression: {exc}.") from exc
    unbounded = _walk(list(parsed), inside_repeat=False)
    if unbounded > 1:
        raise PatternError(
            "Use at most one unbounded quantifier (*, + or {n,}) in a regular expression; "
            "several can make matching very slow. A glob such as *api*login* is safe."
        )


def _walk(items, *, inside_repeat: bool) -> int:
    """Return the number of unbounded quantifiers; raise PatternError on unsafe nodes."""
    unbounded = 0
    for op, arg in items:
        if op in _REFS:
            raise PatternError("Backreferences and conditional groups are not allowed.")
        if op in _NEVER_BACKTRACK and op is not None:
            continue
        if op in _REPEATS:
            low, high, sub = arg
            variable = high != low
            if variable and inside_repeat:
                raise PatternError(
                    "Nested quantifiers such as (a+)+ are not allowed: they can take "
                    "exponential time."
                )
            if variable and (high == sre_constants.MAXREPEAT or high > MAX_BOUNDED_REPEAT):
                unbounded += 1
            unbounded += _walk(list(sub), inside_repeat=inside_repeat or variable)
        elif op == sre_constants.SUBPATTERN:
            unbounded += _walk(list(arg[-1]), inside_repeat=inside_repeat)
        elif op == sre_constants.BRANCH:
            for branch in arg[1]:
                unbounded += _walk(list(branch), inside_repeat=inside_repeat)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            unbounded += _walk(list(arg[1]), inside_repeat=inside_repeat)
    return unbounded


def pattern_compile(*, kind: str, pattern: str) -> Callable[[str], object]:
    """Return a predicate with the same semantics as ``ingest.categorize`` uses."""
    if kind == "regex":
        return re.compile(pattern).search
    return re.compile(fnmatch.translate(pattern)).match
