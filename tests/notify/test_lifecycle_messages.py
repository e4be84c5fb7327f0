"""Lifecycle message texts (``notify.lifecycle_messages``, pure) and their chat rendering."""

import json

from notify.chat import slack, teams
from notify.lifecycle_messages import actor, lifecycle_lines, lifecycle_title, when

URL = "https://passline.example.com/p/shop/tests/{}/"


def flaky(i: int) -> dict:
    return {
        "test": f"pkg::t{i}",
        "url": URL.format(i),
        "owners": [],
        "flake_rate": 0.5,
        "broke": 1,
        "runs": 10,
    }


DIGEST = {
    "counts": {"flaky": 7, "quarantined": 1, "expiring": 1, "suggested": 2},
    "flaky": [flaky(i) for i in range(7)],
    "expiring": [{"test": "pkg::old", "url": URL.format(99), "expires": "2026-03-12T08:30:00Z"}],
    "url": "https://passline.example.com/p/shop/flaky/",
}


def test_actor_and_times_read_as_words():
    assert actor("user:ann") == "ann"
    assert actor("detector:failure_rate") == "automatic detection (failure rate)"
    assert actor("command") == "a command"
    assert when("2026-04-09T12:00:00+00:00") == "2026-04-09 12:00 UTC"
    assert when(None) == "never"


def test_digest_lists_five_most_flaky_then_how_many_more_and_what_expires():
    lines = lifecycle_lines(event="digest.weekly", payload=DIGEST)
    assert lines[0] == (
        "7 flaky (2 suggested for quarantine), 1 quarantined, 1 expiring within a week",
        "",
    )
    linked = [text for text, url in lines if url]
    assert linked[:5] == [f"• pkg::t{i} — 50.0% flaky, broke 1 of 10 runs" for i in range(5)]
    assert ("… and 2 more", "") in lines
    assert lines[-1] == ("Expiring 2026-03-12 08:30 UTC: pkg::old", URL.format(99))
    assert lifecycle_title(event="digest.weekly", payload=DIGEST, project="Shop") == (
        "Flaky tests this week in Shop"
    )


def test_linked_lines_render_as_each_chats_links():
    payload = {**DIGEST, "flaky": [{**flaky(1), "test": "pkg::a[1]|<b>"}], "expiring": []}
    body = json.loads(slack.build_lifecycle(event="digest.weekly", payload=payload, project="S")[0])
    section = body["blocks"][1]["text"]["text"]
    assert f"<{URL.format(1)}|• pkg::a[1]¦&lt;b&gt; — 50.0% flaky" in section
    card = json.loads(teams.build_lifecycle(event="digest.weekly", payload=payload, project="S")[0])
    texts = [b["text"] for b in card["attachments"][0]["content"]["body"]]
    assert any(
        t.startswith("[• pkg::a\\[1\\]|<b> — 50.0%") and t.endswith(f"]({URL.format(1)})")
        for t in texts
    )
    assert (
        card["attachments"][0]["content"]["actions"][0]["title"]
        == "Open the flaky tests in passline"
    )
