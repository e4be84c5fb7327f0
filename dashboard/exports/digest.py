"""The weekly flaky-test digest as Markdown (figures only from ``weekly_digest_get``)."""

from dashboard.exports.markdown import md
from dashboard.exports.text import pct

WEEK_LABELS = {
    "detected": "newly detected as flaky",
    "quarantined_automatically": "quarantined automatically",
    "quarantined_by_people": "quarantined (or renewed) by people",
    "active_by_people": "lifted or marked fixed by people",
    "lifted_automatically": "back to active after passing runs in a row",
    "expired": "quarantines expired",
}


def digest_markdown(digest: dict) -> str:
    """Return the weekly digest as Markdown."""
    c = digest["counts"]
    lines = [
        f"# Flaky tests this week: {md(digest['project']['name'])}",
        "",
        f"Week {digest['week_start'][:10]} to {digest['week_end'][:10]} (UTC).",
        "",
        f"- **Flaky:** {c['flaky']} ({c['suggested']} suggested for quarantine)",
        f"- **Quarantined:** {c['quarantined']} (still counted as not passing)",
        f"- **Expiring within a week:** {c['expiring']}",
    ]
    for key, label in WEEK_LABELS.items():
        if digest["week"].get(key):
            lines.append(f"- **This week, {label}:** {digest['week'][key]}")
    sections = [
        ("Flaky tests", digest["flaky"], False),
        ("Quarantined tests", digest["quarantined"], True),
        ("Quarantines expiring within a week", digest["expiring"], True),
    ]
    for title, items, has_expiry in sections:
        lines += ["", f"## {title}", ""]
        if not items:
            lines.append("None.")
            continue
        head = "| test | owners | flake rate | runs broken | reason | by |"
        rule = "|---|---|---:|---:|---|---|"
        if has_expiry:
            head, rule = head + " expires |", rule + "---|"
        lines += [head, rule]
        for i in items:
            row = (
                f"| {md(i['test'])} | {md(', '.join(i.get('owners') or [])) or '—'} | "
                f"{pct(i['flake_rate'])} | {i['broke']}/{i['runs']} | "
                f"{md(i['reason'])} | {md(i['by'])} |"
            )
            if has_expiry:
                row += f" {(i['expires'] or '')[:10]} |"
            lines.append(row)
    return "\n".join(lines) + "\n"
