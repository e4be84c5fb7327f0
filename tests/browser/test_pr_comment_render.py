"""The sticky PR comment, as GitHub would show it: rendered from what the fake GitHub got.

The Markdown recorded by ``tests/notify/servers.FakeGitHub`` is rendered to HTML with the
Markdown library (tables on, raw HTML other than passline's marker and ``<sub>``/``<br>``
left as text would be GitHub's job) and photographed in Chromium. With
``PASSLINE_WRITE_DOCS_IMG=1`` the picture is saved as ``docs/img/pr-comment.png`` (the
one docs/feedback.md shows); otherwise it goes to the test artifacts.
"""

import os

import markdown
import pytest

from notify import services
from tests.conftest import REPO_ROOT
from tests.dashboard.analytics_data import E, F, P, make_run
from tests.factories import ProjectFactory
from tests.notify.conftest import at
from tests.notify.helpers import complete
from tests.notify.servers import FakeGitHub

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

STYLE = """
body { font: 14px -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #1f2328;
       background: #fff; margin: 0; padding: 24px; width: 860px; }
.comment { border: 1px solid #d0d7de; border-radius: 6px; }
.head { background: #f6f8fa; border-bottom: 1px solid #d0d7de; padding: 8px 16px;
        color: #59636e; border-radius: 6px 6px 0 0; }
.head b { color: #1f2328; }
.body { padding: 8px 16px 16px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 6px 13px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
code { background: rgba(175,184,193,0.2); border-radius: 6px; padding: .2em .4em;
       font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
h3 { font-size: 1.25em; margin: 16px 0 8px; } h4 { margin: 16px 0 8px; }
a { color: #0969da; } sub { color: #59636e; }
"""


def test_pr_comment_renders_as_a_readable_table(
    new_page, settings, artifacts_dir, django_capture_on_commit_callbacks
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    settings.PASSLINE_BASE_URL = "https://passline.example.com"
    project = ProjectFactory(slug="shop", name="Shop", target_bp=9000)
    common = [(f"test_ok_{i}", P, "Other") for i in range(40)]
    make_run(
        project,
        "main-1041",
        at(0),
        [
            *common,
            ("test_login_expired", P, "Auth"),
            ("test_cache_evicts", P, "Cache"),
            ("test_refund_rounding", F, "Payments"),
            ("test_tax_zero", F, "Payments"),
        ],
    )
    head = make_run(
        project,
        "pr-7-1042",
        at(1),
        [
            *common,
            ("test_login_expired", F, "Auth"),
            ("test_cache_evicts", E, "Cache"),
            ("test_refund_rounding", P, "Payments"),
            ("test_tax_zero", F, "Payments"),
            ("test_new_checkout", F, "Payments"),
        ],
        branch="feature/checkout",
    )
    head.pr, head.commit = 7, "9f2c4e1"
    head.save(update_fields=["pr", "commit"])
    with FakeGitHub() as github:
        services.forge_set(
            project=project, kind="github", repo="acme/shop", token=github.token, api_url=github.url
        )
        complete(django_capture_on_commit_callbacks, head)
        [posted] = [r for r in github.requests if r.method == "POST" and "comments" in r.path]
    body = posted.json()["body"]
    html = markdown.markdown(body, extensions=["tables"])
    assert "<table>" in html and "test_login_expired" in html
    assert "<!-- passline:shop -->" in body
    page = new_page(width=920, height=600)
    page.set_content(
        f"<!doctype html><meta charset=utf-8><style>{STYLE}</style>"
        "<div class=comment><div class=head><b>passline-bot</b> commented</div>"
        f"<div class=body>{html}</div></div>"
    )
    assert page.locator("table").count() == 2  # new failures, fixed
    target = (
        REPO_ROOT / "docs" / "img" / "pr-comment.png"
        if os.environ.get("PASSLINE_WRITE_DOCS_IMG")
        else artifacts_dir / "pr-comment.png"
    )
    page.locator(".comment").screenshot(path=target)
