"""Message texts (``notify.messages``, pure)."""

from notify import messages

VERDICT = {
    "run": "842",
    "branch": "main",
    "base": {"run": "841", "branch": "main"},
    "pass_rate": 0.8415,
    "delta_points": 1.22,
    "new_failures": [
        {
            "classname": "auth.Login",
            "name": "test_expired",
            "category": "Auth",
            "owners": ["@org/auth"],
            "failing_since": "840",
        },
    ],
    "new_failures_total": 1,
    "fixed": [],
    "fixed_total": 5,
    "still_failing": 111,
    "flaky_total": 0,
    "target": 0.9,
    "tests_needed": 44,
    "gates": {"new-failures": "fail"},
    "url": "https://passline.example.com/p/shop/runs/842/",
}


def test_rate_line_gives_rate_change_and_target():
    assert messages.rate_line(VERDICT) == (
        "Pass rate 84.2% (+1.2 pts vs main), target 90.0%: 44 tests needed"
    )


def test_change_line_counts_totals_not_listed_items():
    assert messages.change_line(VERDICT) == "1 new failure, 5 fixed, 111 still failing"
    assert messages.change_line({}) == "no change in failing tests"


def test_chat_lines_name_category_owner_and_since():
    lines = messages.chat_lines(event="regression", verdict=VERDICT)
    assert lines[-1] == "• auth.Login.test_expired (Auth · @org/auth · failing since 840)"


def test_headline_says_project_branch_and_run():
    assert messages.headline(event="regression", verdict=VERDICT, project="Shop") == (
        "Regression in Shop · main · run 842: 1 new failure"
    )


def test_comment_escapes_markdown_and_html_in_names():
    verdict = {
        **VERDICT,
        "new_failures": [{"classname": "x", "name": "<img src=x>`|", "message": "a\nb"}],
    }
    body = messages.comment_markdown(
        verdict=verdict, slug="shop", project="Shop", gates=["new-failures"]
    )
    assert "`x.<img src=x>'\\|`" in body
    assert "### ❌ passline · Shop" in body


def test_status_state_follows_the_chosen_gates():
    assert messages.gate_state(verdict=VERDICT, gates=["new-failures"]) == "failure"
    assert messages.gate_state(verdict=VERDICT, gates=["below-target"]) == "success"
    assert len(messages.status_description(verdict=VERDICT, gates=[])) <= 140


QUARANTINED_FAILURE = {
    "classname": "cart.Checkout",
    "name": "test_races",
    "category": "Cart",
    "quarantined": True,
}


def test_quarantined_new_failures_are_not_reported_as_new_failures():
    verdict = {
        **VERDICT,
        "new_failures": [*VERDICT["new_failures"], QUARANTINED_FAILURE],
        "new_failures_total": 2,
        "quarantined_new_failures": 1,
        "quarantined": 3,
    }
    assert messages.change_line(verdict) == (
        "1 new failure, 1 failing in quarantine, 5 fixed, 111 still failing, 3 quarantined"
    )
    assert messages.headline(event="regression", verdict=verdict, project="Shop").endswith(
        ": 1 new failure"
    )
    chat = messages.chat_lines(event="regression", verdict=verdict)
    assert not any("test_races" in line for line in chat)
    body = messages.comment_markdown(
        verdict=verdict, slug="shop", project="Shop", gates=["new-failures"]
    )
    new, _, rest = body.partition("#### New failures (1)")[2].partition(
        "#### Failing in quarantine (1)"
    )
    assert "test_expired" in new and "test_races" not in new
    assert "test_races" in rest.partition("####")[0]
    assert "they still count as not passing" in rest


def test_a_run_whose_only_new_failure_is_quarantined_lists_no_new_failures():
    verdict = {
        **VERDICT,
        "new_failures": [QUARANTINED_FAILURE],
        "new_failures_total": 1,
        "gates": {"new-failures": "pass"},
    }  # no quarantined_new_failures: a verdict stored before it existed
    assert messages.change_line(verdict).startswith("1 failing in quarantine, 5 fixed")
    body = messages.comment_markdown(
        verdict=verdict, slug="shop", project="Shop", gates=["new-failures"]
    )
    assert "#### New failures" not in body and "#### Failing in quarantine (1)" in body
    assert messages.chat_lines(event="run.completed", verdict=verdict)[2:] == []
