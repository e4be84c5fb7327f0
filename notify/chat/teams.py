"""Microsoft Teams Workflows webhook: a message with one Adaptive Card attachment."""

import json

from notify.lifecycle_messages import lifecycle_lines, lifecycle_link, lifecycle_title
from notify.messages import chat_lines, headline

CARD_VERSION = "1.4"


def _line(text: str, url: str) -> str:
    # TextBlocks render a Markdown subset: a linked line is [text](url), brackets escaped.
    if not url:
        return text
    return "[" + text.replace("[", "\\[").replace("]", "\\]") + f"]({url})"


def message_card(*, title: str, lines: list[tuple[str, str]], link: tuple[str, str]) -> dict:
    """Return an Adaptive Card (schema 1.4): the title, the (text, url) lines, a button."""
    body = [
        {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
        *(
            {"type": "TextBlock", "text": _line(text, url), "wrap": True, "spacing": "Small"}
            for text, url in lines
        ),
    ]
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    }
    label, url = link
    if url:
        content["actions"] = [{"type": "Action.OpenUrl", "title": label, "url": url}]
    return content


def card(*, event: str, verdict: dict, project: str, detail: str) -> dict:
    """Return the Adaptive Card for a run event."""
    return message_card(
        title=headline(event=event, verdict=verdict, project=project, detail=detail),
        lines=[(line, "") for line in chat_lines(event=event, verdict=verdict, detail=detail)],
        link=("Open the run in passline", verdict.get("url") or ""),
    )


def _post(content: dict) -> tuple[bytes, dict[str, str]]:
    payload = {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": content,
            }
        ],
    }
    return json.dumps(payload).encode(), {"Content-Type": "application/json"}


def build(*, event: str, verdict: dict, project: str, detail: str) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a Teams Workflows webhook post about a run."""
    return _post(card(event=event, verdict=verdict, project=project, detail=detail))


def build_lifecycle(*, event: str, payload: dict, project: str) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a Teams Workflows post about a lifecycle event."""
    return _post(
        message_card(
            title=lifecycle_title(event=event, payload=payload, project=project),
            lines=lifecycle_lines(event=event, payload=payload),
            link=lifecycle_link(event=event, payload=payload),
        )
    )
