"""Microsoft Teams Workflows webhook: a message with one Adaptive Card attachment."""

import json

from notify.messages import chat_lines, headline

CARD_VERSION = "1.4"


def card(*, event: str, verdict: dict, project: str, detail: str) -> dict:
    """Return the Adaptive Card (schema 1.4) for an event."""
    title = headline(event=event, verdict=verdict, project=project, detail=detail)
    lines = chat_lines(event=event, verdict=verdict, detail=detail)
    body = [
        {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
        *({"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"} for line in lines),
    ]
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    }
    if verdict.get("url"):
        content["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open the run in passline", "url": verdict["url"]}
        ]
    return content


def build(*, event: str, verdict: dict, project: str, detail: str) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a Teams Workflows webhook post."""
    payload = {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card(event=event, verdict=verdict, project=project, detail=detail),
            }
        ],
    }
    return json.dumps(payload).encode(), {"Content-Type": "application/json"}
