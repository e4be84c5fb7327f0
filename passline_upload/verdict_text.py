"""Render a run's verdict (the body of GET …/runs/<key>/verdict) for a CI log and summary.

``verdict_text`` is the short plain-text verdict printed by ``--wait``;
``verdict_markdown`` is the same as Markdown for ``$GITHUB_STEP_SUMMARY``. Both list
at most ``SHOWN`` new failures and cut long names, so a summary stays far below the
limits of CI systems (GitHub's step summary takes up to 1 MiB, a check run 65,535
characters). New failures of quarantined tests are not new failures here (they never
fail a gate): they are counted and listed apart, as "failing in quarantine".
Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence

SHOWN = 20
NAME_CHARS = 200


def _cut(text: str, limit: int = NAME_CHARS) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rate(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _points(value) -> str:
    return "" if value is None else f"{value:+.2f} pts"


def _test_name(item: dict) -> str:
    classname, name = item.get("classname") or "", item.get("name") or ""
    return _cut(f"{classname}::{name}" if classname else name)


def _split_new(verdict: dict) -> tuple[list[dict], int, list[dict], int]:
    """Return the new failures (listed, total) and those in quarantine (listed, total)."""
    listed = verdict.get("new_failures") or []
    new = [item for item in listed if not item.get("quarantined")]
    held = [item for item in listed if item.get("quarantined")]
    held_total = verdict.get("quarantined_new_failures", len(held))
    new_total = max(verdict.get("new_failures_total", len(listed)) - held_total, len(new))
    return new, new_total, held, held_total


def _held_names(held: list[dict], held_total: int, name) -> str:
    """Return the quarantined failures' names, "… and N more" past SHOWN or the list."""
    shown = held[:SHOWN]
    more = f" … and {held_total - len(shown)} more" if held_total > len(shown) else ""
    return ", ".join(name(item) for item in shown) + more


def failed_gates(verdict: dict, gates: Sequence[str]) -> list[str]:
    """Return the chosen ``gates`` that the verdict says fail, in the order given."""
    outcomes = verdict.get("gates") or {}
    return [gate for gate in gates if outcomes.get(gate) == "fail"]


def headline(verdict: dict) -> str:
    """Return one line: the rate, its change against the base and the counts."""
    base = verdict.get("base")
    against = f" against {base['branch']} ({base['run']})" if base else " (no base run)"
    change = _points(verdict.get("delta_points"))
    _new, new_total, _held, held_total = _split_new(verdict)
    parts = [f"{new_total} new failure" + ("" if new_total == 1 else "s")]
    if held_total:
        parts.append(f"{held_total} failing in quarantine")
    parts += [
        f"{verdict.get('fixed_total', len(verdict.get('fixed') or []))} fixed",
        f"{verdict.get('still_failing', 0)} still failing",
    ]
    if verdict.get("flaky_total"):
        parts.append(f"{verdict['flaky_total']} flaky")
    if verdict.get("quarantined"):
        parts.append(f"{verdict['quarantined']} quarantined")
    rate = _rate(verdict.get("pass_rate")) + (f" ({change})" if change else "")
    return f"run {verdict.get('run')}{against}: pass rate {rate}; " + ", ".join(parts)


def _gates_line(verdict: dict, gates: Sequence[str], *, markdown: bool) -> str:
    outcomes = verdict.get("gates") or {}
    marks = {"pass": "✅" if markdown else "ok", "fail": "❌" if markdown else "FAIL"}
    shown = []
    for gate in gates:
        outcome = outcomes.get(gate, "unknown")
        shown.append(
            f"{marks.get(outcome, outcome)} {gate}"
            if markdown
            else f"{gate} {marks.get(outcome, outcome)}"
        )
    return "Gates: " + ", ".join(shown)


def verdict_text(verdict: dict, *, gates: Sequence[str], url: str) -> str:
    """Return the plain-text verdict: headline, up to 20 new failures, gates, link."""
    lines = ["passline: " + headline(verdict)]
    failures, total, held, held_total = _split_new(verdict)
    failures = failures[:SHOWN]
    if failures:
        lines.append(f"New failures ({total}):")
        for item in failures:
            since = item.get("failing_since")
            detail = f"{item.get('outcome')}" + (f", failing since {since}" if since else "")
            if item.get("category"):
                detail += f", {_cut(item['category'], 60)}"
            line = f"  - {_test_name(item)} ({detail})"
            if item.get("message"):
                line += f": {_cut(item['message'], 120)}"
            lines.append(line)
        if total > len(failures):
            lines.append(f"  … and {total - len(failures)} more")
    if held_total:
        names = _held_names(held, held_total, _test_name)
        lines.append(f"Failing in quarantine ({held_total}, no gate fails on them): {names}")
    if gates:
        lines.append(_gates_line(verdict, gates, markdown=False))
    lines.append(url)
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Escape text for a Markdown table cell."""
    text = _cut(text)
    for char in "\\`*_[]<>|":
        text = text.replace(char, "\\" + char)
    return text


def verdict_markdown(verdict: dict, *, gates: Sequence[str], url: str) -> str:
    """Return the verdict as Markdown for GitHub's job summary."""
    failing = failed_gates(verdict, gates)
    icon = "❌" if failing else "✅"
    lines = [f"### {icon} passline: {_md(headline(verdict))}", ""]
    failures, total, held, held_total = _split_new(verdict)
    failures = failures[:SHOWN]
    if failures:
        lines += [
            f"**New failures ({total})**",
            "",
            "| Test | Category | Outcome | Failing since | Message |",
            "|---|---|---|---|---|",
        ]
        for item in failures:
            lines.append(
                "| "
                + " | ".join(
                    [
                        _md(_test_name(item)),
                        _md(item.get("category") or ""),
                        _md(item.get("outcome") or ""),
                        _md(item.get("failing_since") or ""),
                        _md(_cut(item.get("message") or "", 120)),
                    ]
                )
                + " |"
            )
        if total > len(failures):
            lines.append(f"\n… and {total - len(failures)} more.")
        lines.append("")
    if held_total:
        names = _held_names(held, held_total, lambda item: _md(_test_name(item)))
        lines += [
            f"**Failing in quarantine ({held_total})**: {names} (no gate fails on them; "
            "they still count as not passing)",
            "",
        ]
    if gates:
        lines += [_gates_line(verdict, gates, markdown=True), ""]
    link = url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
    lines += [f"[Open the run in passline]({link})", ""]
    return "\n".join(lines) + "\n"
