"""The flaky page of a project and the state changes admins make from the pages.

``flaky``: tests ranked by flake rate (``?sort=broke``: by runs they broke), their
state, last flip and grouped failure messages; admins see the quarantine suggestions.
``test_state_change`` (POST, admins): quarantine or renew (reason, days), lift the
quarantine, mark fixed, accept or dismiss a suggestion.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dashboard.access import project_can_admin, project_get_visible
from dashboard.pages.filters import owner_param
from dashboard.selectors.flaky_page import flaky_page_list
from dashboard.selectors.owners import codeowners_get
from dashboard.selectors.quarantine import state_counts_get, suggestions_list
from dashboard.selectors.tests import test_get
from dashboard.services import quarantine as services

FLAKY_SHOWN = 100
MESSAGES_N = 10


def flaky(request, slug: str):
    """Show the project's flaky tests (``?owner=`` filters) and, to admins, suggestions."""
    project = project_get_visible(slug=slug, user=request.user)
    sort = request.GET.get("sort", "flake")
    owner = owner_param(request)
    can_admin = project_can_admin(user=request.user, project=project)
    codeowners = codeowners_get(project=project)
    rows = flaky_page_list(
        project=project,
        codeowners=codeowners,
        owner=owner or None,
        sort=sort,
        limit=FLAKY_SHOWN,
        messages_n=MESSAGES_N,
    )
    return render(
        request,
        "dashboard/flaky.html",
        {
            "project": project,
            "rows": rows,
            "sort": sort if sort in ("flake", "broke") else "flake",
            "counts": state_counts_get(project=project),
            "suggestions": suggestions_list(project=project) if can_admin else [],
            "can_admin": can_admin,
            "messages_n": MESSAGES_N,
            "show_owners": bool(codeowners.rules),
            "owner": owner,
            "known_owners": codeowners.owners,
        },
    )


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


@require_POST
def test_state_change(request, slug: str, test_id: int):
    """Apply one state change to a test (admins only), then go back where asked."""
    project = project_get_visible(slug=slug, user=request.user)
    if not project_can_admin(user=request.user, project=project):
        raise PermissionDenied("Only the project's admins can change a test's state.")
    test = test_get(project=project, test_id=test_id)
    if test is None:
        raise PermissionDenied("No such test in this project.")
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "").strip()
    try:
        days = int(request.POST["days"]) if request.POST.get("days") else None
        if action == "quarantine":
            services.test_quarantine(
                project=project, test=test, reason=reason, days=days, actor=_actor(request)
            )
            messages.success(request, f"{test} quarantined.")
        elif action == "unquarantine":
            services.test_unquarantine(
                project=project, test=test, reason=reason, actor=_actor(request)
            )
            messages.success(request, f"Quarantine of {test} lifted.")
        elif action == "fixed":
            services.test_mark_active(
                project=project, test=test, reason=reason, actor=_actor(request)
            )
            messages.success(request, f"{test} marked as fixed (active).")
        elif action == "accept":
            services.suggestion_accept(project=project, test=test, actor=_actor(request))
            messages.success(request, f"{test} quarantined.")
        elif action == "dismiss":
            services.suggestion_dismiss(project=project, test=test, actor=_actor(request))
            messages.success(request, "Suggestion dismissed.")
        else:
            messages.error(request, "Unknown action.")
    except (services.QuarantineError, ValueError) as error:
        messages.error(request, str(error))
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("dashboard:test", slug=slug, test_id=test_id)
