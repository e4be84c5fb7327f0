"""What people read about lifecycle events (pure: plain values in, plain values out).

``test.quarantined`` and ``quarantine.expired`` carry one test's payload (classname,
name, owners, state, reason, by, since, expires, url: docs/flaky.md); ``digest.weekly``
carries the week's digest (counts, flaky, quarantined, expiring, week, url). Lines are
``(text, url)`` pairs, ``url`` "" when the line links nowhere: each chat renders links
its own way. Timestamps are ISO 8601 UTC; they are shown as "2026-04-09 12:00 UTC".
"""

from notify.messages import MAX_CHAT_TESTS, percent

TEST_EVENTS = ("test.quarantined", "quarantine.expired")


def when(value: str | None) -> str:
    """Return an ISO 8601 UTC timestamp as "2026-04-09 12:00 UTC" ("never" for None)."""
    if not value:
        return "never"
    return value[:10] + " " + value[11:16] + " UTC"


def test_name(payload: dict) -> str:
    """Return "classname::name" (the name alone without a classname)."""
    classname, name = payload.get("classname") or "", payload.get("name") or ""
    return f"{classname}::{name}" if classname else name


def actor(by: str) -> str:
    """Return who changed a state, in words: "ann", "automatic detection (pass on retry)"."""
    kind, _, rest = (by or "").partition(":")
    if kind == "user" and rest:
        return rest
    if kind == "detector":
        return f"automatic detection ({rest.replace('_', ' ')})"
    return {"command": "a command", "api": "the API"}.get(by, by or "unknown")


def owners_text(owners: list[str] | None) -> str:
    """Return "@org/a, @bob" or "none (no CODEOWNERS rule)"."""
    return ", ".join(owners) if owners else "none (no CODEOWNERS rule)"


def lifecycle_title(*, event: str, payload: dict, project: str) -> str:
    """Return a one-line title for a lifecycle event."""
    if event == "test.quarantined":
        return f"Quarantined in {project}: {test_name(payload)}"
    if event == "quarantine.expired":
        return f"Quarantine expired in {project}: {test_name(payload)}"
    return f"Flaky tests this week in {project}"


def _test_lines(event: str, payload: dict) -> list[tuple[str, str]]:
    if event == "test.quarantined":
        lines = [
            (f"Reason: {payload.get('reason') or '(none given)'}", ""),
            (f"By: {actor(payload.get('by', ''))}", ""),
            (f"Owners: {owners_text(payload.get('owners'))}", ""),
            (f"Until: {when(payload.get('expires'))} (renew it to keep it longer)", ""),
            ("CI may ignore its failures; it still counts as not passing in every rate.", ""),
        ]
    else:
        lines = [
            (
                f"Quarantined since {when(payload.get('since'))}, expired "
                f"{when(payload.get('expires'))}: it is active again, and fails CI gates.",
                "",
            ),
            (f"Reason it was quarantined: {payload.get('reason') or '(none given)'}", ""),
            (f"By: {actor(payload.get('by', ''))}", ""),
            (f"Owners: {owners_text(payload.get('owners'))}", ""),
        ]
    return lines


def _digest_lines(digest: dict) -> list[tuple[str, str]]:
    c = digest.get("counts") or {}
    lines = [
        (
            f"{c.get('flaky', 0)} flaky ({c.get('suggested', 0)} suggested for quarantine), "
            f"{c.get('quarantined', 0)} quarantined, {c.get('expiring', 0)} expiring "
            "within a week",
            "",
        )
    ]
    flaky = digest.get("flaky") or []
    if flaky:
        lines.append(("Most flaky:", ""))
    for item in flaky[:MAX_CHAT_TESTS]:
        owners = f", {', '.join(item['owners'][:3])}" if item.get("owners") else ""
        text = (
            f"• {item['test']} — {percent(item.get('flake_rate'))} flaky, broke "
            f"{item.get('broke', 0)} of {item.get('runs', 0)} runs{owners}"
        )
        lines.append((text, item.get("url") or ""))
    if len(flaky) > MAX_CHAT_TESTS or c.get("flaky", 0) > MAX_CHAT_TESTS:
        lines.append((f"… and {max(c.get('flaky', 0), len(flaky)) - MAX_CHAT_TESTS} more", ""))
    for item in (digest.get("expiring") or [])[:MAX_CHAT_TESTS]:
        text = f"Expiring {when(item.get('expires'))}: {item['test']}"
        lines.append((text, item.get("url") or ""))
    return lines


def lifecycle_lines(*, event: str, payload: dict) -> list[tuple[str, str]]:
    """Return the body lines of a lifecycle event's chat message as (text, url) pairs."""
    if event in TEST_EVENTS:
        return _test_lines(event, payload)
    return _digest_lines(payload)


def lifecycle_link(*, event: str, payload: dict) -> tuple[str, str]:
    """Return the message's main link: (label, url); url "" when there is none."""
    if event in TEST_EVENTS:
        return "Open the test in passline", payload.get("url") or ""
    return "Open the flaky tests in passline", payload.get("url") or ""
