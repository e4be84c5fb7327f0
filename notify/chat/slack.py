"""Slack incoming webhook: ``text`` (the notification's fallback) and Block Kit ``blocks``."""

import json

from notify.lifecycle_messages import lifecycle_lines, lifecycle_link, lifecycle_title
from notify.messages import chat_lines, headline


def _mrkdwn_escape(text: str) -> str:
    # Slack's mrkdwn needs only these three escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _line(text: str, url: str) -> str:
    text = _mrkdwn_escape(text)
    # "|" ends a link's label: a look-alike keeps the label whole.
    return f"<{url}|{text.replace('|', '¦')}>" if url else text


def message(*, title: str, lines: list[tuple[str, str]], link: tuple[str, str]) -> bytes:
    """Return a Slack message: a header, the (text, url) lines, and the main link."""
    body_text = "\n".join(_line(text, url) for text, url in lines)
    payload = {
        "text": f"{title}\n{lines[0][0] if lines else ''}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body_text[:2900]}},
        ],
    }
    label, url = link
    if url:
        payload["blocks"].append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{url}|{label}>"}]}
        )
    return json.dumps(payload).encode()


def build(*, event: str, verdict: dict, project: str, detail: str) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a Slack incoming-webhook message about a run."""
    body = message(
        title=headline(event=event, verdict=verdict, project=project, detail=detail),
        lines=[(line, "") for line in chat_lines(event=event, verdict=verdict, detail=detail)],
        link=("Open the run in passline", verdict.get("url") or ""),
    )
    return body, {"Content-Type": "application/json"}


def build_lifecycle(*, event: str, payload: dict, project: str) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a Slack message about a lifecycle event."""
    body = message(
        title=lifecycle_title(event=event, payload=payload, project=project),
        lines=lifecycle_lines(event=event, payload=payload),
        link=lifecycle_link(event=event, payload=payload),
    )
    return body, {"Content-Type": "application/json"}
