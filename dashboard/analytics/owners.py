"""CODEOWNERS (GitHub syntax): parse once, then find a path's owners with one regex call.

Semantics (GitHub's, which follow gitignore's patterns):

- One rule a line: a pattern, then owners (``@user``, ``@org/team`` or an e-mail
  address) separated by whitespace. Blank lines and lines starting with ``#`` are
  ignored; ``#`` after whitespace starts a comment; ``\\#`` is a literal ``#`` and
  ``\\ `` a literal space in a pattern.
- The **last** matching rule wins. A rule without owners clears ownership for what it
  matches (so a later, more specific ``/apps/github`` line can leave a path unowned).
- ``*`` matches within one path segment, ``?`` one character but ``/``; ``**/`` at the
  start matches in any directory, ``/**`` at the end everything inside, ``/**/`` zero or
  more directories.
- A pattern with a ``/`` at its start or in its middle is anchored at the root;
  otherwise it matches at any depth. A pattern matches a path itself or anything
  beneath it (a directory's files); a trailing ``/`` matches directories only (only
  what is beneath); a trailing ``/*`` matches the directory's direct children only.
- Lines GitHub would reject are skipped and reported as problems: ``!`` negation,
  ``[...]`` ranges, invalid owners, over-long patterns, too many wildcards.

A test's path (``test_path``) is its ``file`` attribute when known, else its classname
with dots turned into slashes (``a.b.C`` → ``a/b/C``).

Rules are tried last first; each has a literal piece that a matching path must contain
(``src/auth`` of ``/src/auth/``), tested with ``in`` before the rule's regex runs, so
most rules cost a substring test. Each glob segment compiles to atomic lazy pieces, so
no pattern backtracks exponentially; path length is capped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_PATTERN_CHARS = 500
MAX_WILDCARDS = 20
MAX_PATH_CHARS = 2000
_USER = r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_TEAM = r"@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_.-]+"
_EMAIL = r"[^@\s/]+@[^@\s/]+\.[^@\s/]+"
OWNER = re.compile(rf"(?:{_TEAM}|{_USER}|{_EMAIL})")


@dataclass(frozen=True)
class Rule:
    line: int
    pattern: str
    owners: tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class CodeOwners:
    """A parsed CODEOWNERS: its valid rules (file order), its problems, one regex."""

    rules: tuple[Rule, ...] = ()
    problems: tuple[Problem, ...] = ()
    # Last rule first: (a literal the path must contain, or "", compiled regex, rule).
    _checks: tuple = field(default=(), repr=False, compare=False)

    def rule_for(self, path: str) -> Rule | None:
        """Return the last rule matching ``path`` (relative, ``/``-separated), or None."""
        path = normalize_path(path)[:MAX_PATH_CHARS]
        for literal, regex, rule in self._checks:
            # The substring test (C speed) skips most rules before any regex runs.
            if literal in path and regex.fullmatch(path):
                return rule
        return None

    def owners_for(self, path: str) -> tuple[str, ...]:
        """Return the owners of ``path`` (empty when no rule, or a rule without owners)."""
        rule = self.rule_for(path)
        return rule.owners if rule else ()

    @property
    def owners(self) -> list[str]:
        """Return every owner named by a rule, sorted, once each (first spelling kept)."""
        seen: dict[str, str] = {}
        for rule in self.rules:
            for owner in rule.owners:
                seen.setdefault(owner.casefold(), owner)
        return [seen[k] for k in sorted(seen)]


def normalize_path(path: str) -> str:
    """Return ``path`` relative and ``/``-separated (``.\\a\\b`` → ``a/b``)."""
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


def test_path(*, file: str, classname: str) -> str:
    """Return the path a test's owners are looked up by: its file, else its classname."""
    if file and file.strip():
        return normalize_path(file)
    return classname.strip().replace(".", "/")


test_path.__test__ = False  # not a pytest test, despite its name


def _split(line: str) -> list[str]:
    """Split a line into tokens on unescaped whitespace; stop at an unescaped ``#``."""
    tokens: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] in "# \t":
            current.append("\\" + line[i + 1])
            i += 2
            continue
        if ch in " \t":
            if current:
                tokens.append("".join(current))
                current = []
        elif ch == "#" and not current:
            break
        else:
            current.append(ch)
        i += 1
    if current:
        tokens.append("".join(current))
    return tokens


def _literal_regex(piece: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(piece):
        ch = piece[i]
        if ch == "\\" and i + 1 < len(piece):
            out.append(re.escape(piece[i + 1]))
            i += 2
            continue
        out.append("[^/]" if ch == "?" else re.escape(ch))
        i += 1
    return "".join(out)


def _segment_regex(segment: str) -> str:
    """Return one segment's regex; linear-time whatever its wildcards.

    A glob ``p0*p1*…*pk`` matches when p1…pk-1 are found in order, each at its earliest
    place, and pk ends the segment: each middle piece is an atomic lazy search
    (``(?>[^/]*?p)``), so the regex never backtracks into a piece it has placed.
    """
    pieces = re.split(r"(?<!\\)\*+", segment)
    if len(pieces) == 1:
        return _literal_regex(segment)
    middle = "".join(f"(?>[^/]*?{_literal_regex(p)})" for p in pieces[1:-1] if p)
    return f"{_literal_regex(pieces[0])}{middle}[^/]*{_literal_regex(pieces[-1])}"


def pattern_regex(pattern: str) -> str:
    """Return the regex (for ``fullmatch``) of one CODEOWNERS pattern."""
    dir_only = pattern.endswith("/") and not pattern.endswith("\\/")
    body = pattern.rstrip("/") if dir_only else pattern
    anchored = body.startswith("/") or "/" in body.lstrip("/")
    body = body.lstrip("/")
    segments = body.split("/")
    children_only = not dir_only and len(segments) > 1 and segments[-1] == "*"
    parts: list[str] = ["" if anchored else "(?:.*/)?"]
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment == "**":
            if index == last:
                parts.append(".*" if index == 0 else "/.*")
                return "".join(parts)
            parts.append("(?:.*/)?" if index == 0 else "/(?:.*/)?")
            continue
        if index and segments[index - 1] != "**":
            parts.append("/")
        parts.append(_segment_regex(segment))
    if children_only:
        return "".join(parts)
    parts.append("/.+" if dir_only else "(?:/.*)?")
    return "".join(parts)


def _problem(pattern: str) -> str | None:
    plain = pattern.replace("\\#", "").replace("\\ ", "")
    if plain.startswith("!"):
        return "negation (!) is not supported in CODEOWNERS"
    if "[" in plain or "]" in plain:
        return "character ranges ([...]) are not supported in CODEOWNERS"
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"pattern longer than {MAX_PATTERN_CHARS} characters"
    singles = len(re.findall(r"(?<!\*)\*(?!\*)|\?", plain))
    if singles > MAX_WILDCARDS:
        return f"more than {MAX_WILDCARDS} wildcards in one pattern"
    return None


def parse(text: str) -> CodeOwners:
    """Parse a CODEOWNERS file's text; bad lines become problems, never exceptions."""
    rules: list[Rule] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = _split(raw.strip())
        if not tokens:
            continue
        pattern, owners = tokens[0], tokens[1:]
        reason = _problem(pattern)
        bad = [o for o in owners if not OWNER.fullmatch(o)]
        if reason is None and bad:
            reason = f"invalid owner {bad[0]!r} (use @user, @org/team or an e-mail address)"
        if reason:
            problems.append(Problem(line=number, text=raw.strip()[:200], reason=reason))
            continue
        rules.append(Rule(line=number, pattern=pattern, owners=tuple(owners)))
    checks = tuple(
        (_literal(rule.pattern), re.compile(f"(?s:{pattern_regex(rule.pattern)})"), rule)
        for rule in reversed(rules)
    )
    return CodeOwners(rules=tuple(rules), problems=tuple(problems), _checks=checks)


def _literal(pattern: str) -> str:
    """Return the longest wildcard-free piece every path matching ``pattern`` contains."""
    body = pattern.strip("/")
    if "\\" in body:
        return ""  # escapes: not worth decoding for a pre-filter
    # `**/x`, `a/**/b`: a piece next to a wildcard may lose its slash (zero directories).
    pieces = [piece.strip("/") for piece in re.split(r"[*?]+", body)]
    return max(pieces, key=len)


def owners_map(
    codeowners: CodeOwners, tests: dict[int, tuple[str, str]]
) -> dict[int, tuple[str, ...]]:
    """Return owners per test id for ``{id: (file, classname)}``; one match per distinct path."""
    by_path: dict[str, tuple[str, ...]] = {}
    out: dict[int, tuple[str, ...]] = {}
    for test_id, (file, classname) in tests.items():
        path = test_path(file=file, classname=classname)
        if path not in by_path:
            by_path[path] = codeowners.owners_for(path)
        out[test_id] = by_path[path]
    return out


def owner_matches(owners: tuple[str, ...] | list[str], wanted: str) -> bool:
    """Return True if ``wanted`` (case-insensitive; ``none`` for unowned) is among ``owners``."""
    wanted = wanted.strip().casefold()
    if wanted in ("none", "-", "(none)"):
        return not owners
    return any(o.casefold() == wanted for o in owners)


NO_OWNER = "(no owner)"


def owner_sections(items: list[dict], *, list_limit: int = 50) -> list[dict]:
    """Group tests by owner: what each owner has to look at in a run.

    ``items``: one dict per test of interest with ``owners`` (list), the flags
    ``not_passing``, ``new_failure``, ``flaky``, ``quarantined`` and the test's
    ``classname``/``name``/``category``. A test with several owners counts for each;
    unowned tests form the ``(no owner)`` section. Return one section per owner:
    ``{"owner", "not_passing", "new_failures", "flaky", "quarantined"}`` (counts) and
    the lists ``new_failure_tests``, ``not_passing_tests``, ``flaky_tests``,
    ``quarantined_tests`` (each at most ``list_limit``, by classname and name), sorted
    by new failures, then not passing, then owner; ``(no owner)`` last.
    """
    kinds = (
        ("not_passing", "not_passing_tests"),
        ("new_failure", "new_failure_tests"),
        ("flaky", "flaky_tests"),
        ("quarantined", "quarantined_tests"),
    )
    groups: dict[str, dict[str, list[dict]]] = {}
    for item in items:
        for owner in item.get("owners") or [NO_OWNER]:
            group = groups.setdefault(owner, {key: [] for _flag, key in kinds})
            for flag, key in kinds:
                if item.get(flag):
                    group[key].append(item)
    sections = []
    for owner, group in groups.items():
        section: dict = {"owner": owner}
        for flag, key in kinds:
            tests = sorted(group[key], key=lambda t: (t["classname"], t["name"]))
            section["new_failures" if flag == "new_failure" else flag] = len(tests)
            section[key] = [
                {k: t.get(k) for k in ("classname", "name", "category", "outcome")}
                for t in tests[:list_limit]
            ]
        if any(section[k] for k in ("not_passing", "new_failures", "flaky", "quarantined")):
            sections.append(section)
    sections.sort(
        key=lambda s: (s["owner"] == NO_OWNER, -s["new_failures"], -s["not_passing"], s["owner"])
    )
    return sections
