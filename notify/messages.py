"""What people read: short texts and Markdown from a run verdict (pure, no Django).

Every message names the project, the branch, links the run, says what changed (new
failures with category and owners when known) and gives the pass rate against the
target. The verdict is the dict of ``GET …/runs/<key>/verdict`` (DESIGN.md, Feedback);
rates are fractions 0..1, ``delta_points`` is in percentage points.

Quarantined tests are never reported as new failures: the verdict lists them among its
``new_failures`` (flagged ``quarantined``, as the API contract says), and messages count
and list them apart, as "failing in quarantine".
"""

from notify.events import regression_failures

MAX_COMMENT_CHARS = 60_000
MAX_LISTED_TESTS = 50
MAX_CHAT_TESTS = 5
MAX_LINE_CHARS = 300


def marker(slug: str) -> str:
    """Return the hidden marker that finds a project's sticky comment again."""
    return f"<!-- passline:{slug} -->"


def percent(rate: float | None) -> str:
    """Return a fraction as a percentage with one decimal ("84.2%"), or "n/a"."""
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def points(delta: float | None) -> str:
    """Return a change in percentage points with its sign ("+1.2 pts")."""
    return "" if delta is None else f"{delta:+.1f} pts"


def _clip(text: str, limit: int = MAX_LINE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md_escape(text: str) -> str:
    # Test names may contain Markdown or HTML; inline code shows them as they are. A pipe
    # would still end a table cell (GitHub Flavored Markdown), so it is escaped.
    return "`" + _clip(text).replace("`", "'").replace("|", "\\|") + "`"


def test_label(test: dict) -> str:
    """Return "classname.name" (or just the name when the classname is empty)."""
    classname, name = test.get("classname") or "", test.get("name") or ""
    return f"{classname}.{name}" if classname else name


def total(verdict: dict, key: str) -> int:
    """Return how many tests a verdict list has (``<key>_total``; lists may be cut)."""
    listed = verdict.get(key) or []
    return max(verdict.get(f"{key}_total") or 0, len(listed))


def quarantined_new(verdict: dict) -> int:
    """Return how many new failures are of quarantined tests."""
    count = verdict.get("quarantined_new_failures")
    if count is None:  # a verdict stored before the count existed
        count = sum(1 for t in verdict.get("new_failures") or [] if t.get("quarantined"))
    return count


def reported_new(verdict: dict) -> int:
    """Return how many new failures messages report: those of tests not quarantined."""
    return max(total(verdict, "new_failures") - quarantined_new(verdict), 0)


def _test_details(test: dict, *, run: str) -> str:
    bits = []
    if test.get("category"):
        bits.append(test["category"])
    if test.get("owners"):
        bits.append(", ".join(test["owners"][:3]))
    if test.get("failing_since") and test["failing_since"] != run:
        bits.append(f"failing since {test['failing_since']}")
    if test.get("quarantined"):
        bits.append("quarantined")
    return " · ".join(bits)


def rate_line(verdict: dict) -> str:
    """Return "Pass rate 84.2% (+1.2 pts vs main), target 90.0%: 44 tests needed"."""
    line = f"Pass rate {percent(verdict.get('pass_rate'))}"
    base = verdict.get("base")
    if base and verdict.get("delta_points") is not None:
        line += f" ({points(verdict['delta_points'])} vs {base.get('branch') or base['run']})"
    target = verdict.get("target")
    if target is not None:
        needed = verdict.get("tests_needed") or 0
        line += f", target {percent(target)}"
        line += ": reached" if needed == 0 else f": {needed} tests needed"
    return line


def change_line(verdict: dict) -> str:
    """Return "3 new failures, 5 fixed, 111 still failing" (only the non-zero parts)."""
    parts = []
    new, fixed = reported_new(verdict), total(verdict, "fixed")
    if new:
        parts.append(f"{new} new failure{'s' if new != 1 else ''}")
    if quarantined_new(verdict):
        parts.append(f"{quarantined_new(verdict)} failing in quarantine")
    if fixed:
        parts.append(f"{fixed} fixed")
    if verdict.get("still_failing"):
        parts.append(f"{verdict['still_failing']} still failing")
    if total(verdict, "flaky"):
        parts.append(f"{total(verdict, 'flaky')} flaky")
    if verdict.get("quarantined"):
        parts.append(f"{verdict['quarantined']} quarantined")
    return ", ".join(parts) if parts else "no change in failing tests"


def headline(*, event: str, verdict: dict, project: str, detail: str = "") -> str:
    """Return a one-line title for ``event`` about the verdict's run."""
    where = f"{project} · {verdict.get('branch') or '?'} · run {verdict.get('run')}"
    if event == "regression":
        new = reported_new(verdict)
        return f"Regression in {where}: {new} new failure{'s' if new != 1 else ''}"
    if event == "target.reached":
        return f"Target reached in {where}" + (f": {detail}" if detail else "")
    if event == "run.flagged":
        flags = ", ".join(verdict.get("flags") or []) or "flagged"
        return f"Run flagged ({flags}) in {where}"
    return f"Run completed in {where}"


def chat_lines(*, event: str, verdict: dict, detail: str = "") -> list[str]:
    """Return the body lines of a chat message (plain text, no markup)."""
    lines = [rate_line(verdict), change_line(verdict)]
    if event == "target.reached" and detail:
        lines.insert(0, detail)
    new = regression_failures(verdict)
    for test in new[:MAX_CHAT_TESTS]:
        details = _test_details(test, run=verdict.get("run", ""))
        lines.append(f"• {_clip(test_label(test), 150)}" + (f" ({details})" if details else ""))
    if reported_new(verdict) > MAX_CHAT_TESTS:
        lines.append(f"… and {reported_new(verdict) - MAX_CHAT_TESTS} more")
    return lines


def _test_table(tests: list[dict], *, run: str, since: bool) -> list[str]:
    """Return a Markdown table of at most MAX_LISTED_TESTS tests.

    The Owners column appears when some test has owners; "Failing since" only for
    failures ("this run" when the streak starts with this run).
    """
    shown = tests[:MAX_LISTED_TESTS]
    owners = any(t.get("owners") for t in shown)
    head = [
        "Test",
        "Category",
        *(["Owners"] if owners else []),
        *(["Failing since"] if since else []),
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for test in shown:
        message = f"<br>{_md_escape(test['message'])}" if test.get("message") else ""
        cells = [f"{_md_escape(test_label(test))}{message}", _clip(test.get("category") or "-", 80)]
        if owners:
            cells.append(_clip(", ".join(test.get("owners") or []) or "-", 120))
        if since:
            start = test.get("failing_since") or run
            cells.append("this run" if start == run else _md_escape(start))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _against(base: dict | None) -> str:
    if not base:
        return " (no base run yet)"
    return f" against {base.get('branch') or '?'} run {base['run']}"


def comment_markdown(*, verdict: dict, slug: str, project: str, gates: list[str]) -> str:
    """Return the sticky PR/MR comment: marker, verdict, at most 50 tests listed.

    The result is under MAX_COMMENT_CHARS (GitHub refuses bodies over 65,536).
    """
    url = verdict.get("url") or ""
    outcome = gate_state(verdict=verdict, gates=gates)
    icon = "✅" if outcome == "success" else "❌"
    lines = [
        marker(slug),
        f"### {icon} passline · {project}",
        "",
        f"**{change_line(verdict)}** — {rate_line(verdict)}.",
        "",
        f"Run [{verdict.get('run')}]({url}) on `{verdict.get('branch') or '?'}`"
        + (
            f" against {verdict['base']['branch']} run {verdict['base']['run']}"
            if verdict.get("base")
            else " (no base run yet)"
        )
        + ".",
    ]
    if verdict.get("flags"):
        lines += ["", f"⚠️ Flagged: {', '.join(verdict['flags'])}."]
    listed_new = verdict.get("new_failures") or []
    sections = (
        ("New failures", regression_failures(verdict), reported_new(verdict), True, ""),
        (
            "Failing in quarantine",
            [t for t in listed_new if t.get("quarantined")],
            quarantined_new(verdict),
            True,
            "Quarantined tests: not new failures for the gates; they still count as not passing.",
        ),
        ("Fixed", verdict.get("fixed") or [], total(verdict, "fixed"), False, ""),
    )
    for title, tests, count, since, note in sections:
        if not count:
            continue
        run = verdict.get("run", "")
        lines += ["", f"#### {title} ({count})", ""]
        if note:
            lines += [note, ""]
        lines += _test_table(tests, run=run, since=since)
        if count > min(len(tests), MAX_LISTED_TESTS):
            shown = min(len(tests), MAX_LISTED_TESTS)
            lines += ["", f"…and {count - shown} more: [see the run]({url})."]
    failed = [name for name in gates if (verdict.get("gates") or {}).get(name) == "fail"]
    lines += [
        "",
        "<sub>Gates: "
        + (", ".join(f"{g} {'failed' if g in failed else 'passed'}" for g in gates) or "none")
        + " · updated by passline for every run of this pull request.</sub>",
    ]
    text = "\n".join(lines)
    if len(text) > MAX_COMMENT_CHARS:
        cut = text[: MAX_COMMENT_CHARS - 200].rsplit("\n", 1)[0]
        text = f"{cut}\n\n…cut to stay under the comment size limit: [see the run]({url})."
    return text


def gate_state(*, verdict: dict, gates: list[str]) -> str:
    """Return "failure" when any chosen gate failed, else "success"."""
    outcomes = verdict.get("gates") or {}
    return "failure" if any(outcomes.get(g) == "fail" for g in gates) else "success"


def status_description(*, verdict: dict, gates: list[str]) -> str:
    """Return a commit status description (GitHub keeps 140 characters)."""
    text = f"{change_line(verdict)}; {percent(verdict.get('pass_rate'))}"
    if verdict.get("delta_points") is not None and verdict.get("base"):
        text += f" ({points(verdict['delta_points'])})"
    return _clip(text, 140)
