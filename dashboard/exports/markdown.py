"""Render the status summary as Markdown, ready to paste into chat or a wiki."""

import html
import re

from dashboard.exports.text import pct, signed

# Characters with a meaning inside a line of Markdown (CommonMark + GFM tables); "<"
# and "&" are HTML-escaped instead.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")


def md(text: str) -> str:
    """Return ``text`` as inert Markdown: HTML-escaped, specials backslash-escaped."""
    text = " ".join(str(text).split())  # a newline would break a table row
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _run(info: dict) -> str:
    day = info["started_at"][:10]
    return f"run {md(info['run'])} ({md(info['branch'])}, {day})"


def _progress(scope: dict) -> str:
    if scope["progress"] is None:
        return f"n/a ({scope['progress_note']})"
    text = f"{100 * scope['progress']:.0f}%"
    return f"{text} ({scope['progress_note']})" if scope["progress_note"] else text


def _eta(summary: dict) -> str:
    trend, overall = summary["trend"], summary["overall"]
    if overall["target_reached"]:
        return "target reached"
    if trend["per_week"] is None:
        return "no trend yet (too few runs)"
    rate = f"{signed(100 * trend['per_week'])} points/week"
    if trend["eta"] and trend["on_track"]:
        return f"{rate}; ETA {trend['eta'][:10]}"
    if trend["eta"]:
        return f"{rate}; ETA {trend['eta'][:10]}, after the due date: not on track"
    return f"{rate}; not on track"


def _flags(summary: dict) -> list[str]:
    lines = []
    for role in ("base", "head"):
        info = summary[role]
        lines.extend(f"  - {_run(info)}: {md(reason)}" for reason in info["flags"])
    return lines


def _test_name(t: dict) -> str:
    return md(f"{t['classname']}::{t['name']}" if t["classname"] else t["name"])


def _owner_lines(sections: list[dict], limit: int) -> list[str]:
    """Return the "By owner" section: a table, then each owner's tests to look at."""
    if not sections:
        return []
    lines = [
        "",
        "## By owner",
        "",
        "| owner | not passing | new failures | flaky | quarantined |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {md(s['owner'])} | {s['not_passing']} | {s['new_failures']} | {s['flaky']} | "
        f"{s['quarantined']} |"
        for s in sections
    ]
    titles = (
        ("new_failure_tests", "new_failures", "New failures"),
        ("not_passing_tests", "not_passing", "Not passing"),
        ("flaky_tests", "flaky", "Flaky"),
        ("quarantined_tests", "quarantined", "Quarantined"),
    )
    for s in sections:
        lines += ["", f"### {md(s['owner'])}"]
        for key, count, title in titles:
            tests = s[key][:limit]
            if not tests:
                continue
            more = f" (first {len(tests)})" if s[count] > len(tests) else ""
            lines += ["", f"{title}: {s[count]}{more}", ""]
            lines += [f"- {_test_name(t)} ({md(t['category'] or '')})" for t in tests]
    return lines


def summary_markdown(summary: dict, *, changes_limit: int = 50) -> str:
    """Return the status summary as Markdown (figures only from ``summary``)."""
    o = summary["overall"]
    target = pct(summary["target"])
    reached = "yes" if o["target_reached"] else "**no**"
    lines = [
        f"# Test status: {md(summary['project']['name'])}",
        "",
        f"{_run(summary['base']).capitalize()} → {_run(summary['head'])}; target {target}.",
        "",
        f"- **Pass rate:** {pct(o['rate_before'])} ({o['base_passed']}/{o['base_total']}) → "
        f"{pct(o['rate_after'])} ({o['head_passed']}/{o['head_total']}), "
        f"{signed(o['change_points'])} points",
        f"- **Passing tests:** {signed(o['delta_passed'])} = {o['fixed']} fixed - "
        f"{o['regressed']} regressed + {o['added_passing']} added passing - "
        f"{o['removed_passing']} removed passing",
        f"- **Added / removed tests:** {o['added_passing'] + o['added_not_passing']} added "
        f"({o['added_not_passing']} not passing), "
        f"{o['removed_passing'] + o['removed_not_passing']} removed; "
        f"{o['newly_skipped']} newly skipped; {o['flaky']} flaky in the latest run",
        f"- **Not passing now:** {o['not_passing']} of {o['head_total']}",
        f"- **Quarantined tests:** {summary['quarantined']} (still counted as not passing)",
        f"- **Tests needed for {target}:** {o['tests_needed']}",
        f"- **Progress from baseline to target:** {_progress(o)}",
        f"- **Trend ({md(summary['trend']['branch'])}):** {_eta(summary)}",
        f"- **Target reached:** {reached}",
    ]
    flags = _flags(summary)
    lines.append("- **Flags:** " + ("" if flags else "none"))
    lines.extend(flags)
    src = summary["sources"]
    listed, rest = src["listed"], src["rest"]
    lines += [
        "",
        "## Where the change came from",
        "",
        "| scope | tests | passed before | passed now | change |",
        "|---|---:|---:|---:|---:|",
        f"| {len(listed['categories'])} listed categories | {listed['tests']} | "
        f"{listed['base_passed']} | {listed['head_passed']} | {signed(listed['delta_passed'])} |",
        f"| in no listed category | {rest['tests']} | {rest['base_passed']} | "
        f"{rest['head_passed']} | {signed(rest['delta_passed'])} |",
        f"| all tests | {o['head_total']} | {o['base_passed']} | {o['head_passed']} | "
        f"{signed(o['delta_passed'])} |",
        "",
        "## Categories",
        "",
        "| category | before | now | change (points) | fixed | regressed | tests needed | "
        "target reached |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in summary["categories"]:
        lines.append(
            f"| {md(c['name'])} | {c['base_passed']}/{c['base_total']} "
            f"({pct(c['rate_before'])}) | {c['head_passed']}/{c['head_total']} "
            f"({pct(c['rate_after'])}) | {signed(c['change_points'])} | {c['fixed']} | "
            f"{c['regressed']} | {c['tests_needed']} | {'yes' if c['target_reached'] else 'no'} |"
        )
    changes = summary["changes"][:changes_limit]
    if changes:
        lines += [
            "",
            f"## Changed tests ({len(changes)} of {summary['changes_total']})",
            "",
            "| change | category | test | before | now |",
            "|---|---|---|---|---|",
        ]
        for ch in changes:
            test = f"{ch['classname']}::{ch['name']}" if ch["classname"] else ch["name"]
            lines.append(
                f"| {ch['change'].replace('_', ' ')} | {md(ch['category'])} | {md(test)} | "
                f"{ch['base_outcome'] or '—'} | {ch['head_outcome'] or '—'} |"
            )
    lines += _owner_lines(summary.get("owners") or [], changes_limit)
    if not summary["identity_holds"]:
        lines += ["", "Warning: the change does not add up (fixed - regressed + added - removed)."]
    return "\n".join(lines) + "\n"
