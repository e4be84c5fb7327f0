"""Slack incoming webhook: ``text`` (the notification's fallback) and Block Kit ``blocks``."""

import json

from notify.messages import chat_lines, headline


def _mrkdwn_escape(text: str) -> str:
    # Slack's mrkdwn needs only these three escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build(*, event: str, verdict: dict, project: str, detail: str) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a Slack incoming-webhook message."""
    title = headline(event=event, verdict=verdict, project=project, detail=detail)
    lines = chat_lines(event=event, verdict=verdict, detail=detail)
    url = verdict.get("url") or ""
    body_text = "\n".join(_mrkdwn_escape(line) for line in lines)
    link = f"<{url}|Open the run in passline>" if url else ""
    payload = {
        "text": f"{title}\n{lines[0] if lines else ''}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body_text[:2900]}},
        ],
    }
    if link:
        payload["blocks"].append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": link}]}
        )
    return json.dumps(payload).encode(), {"Content-Type": "application/json"}
