"""Members page: who can see (viewer) or administer (admin) the project."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.project_settings.access import project_get_admin
from dashboard.project_settings.members import (
    MembershipError,
    membership_remove,
    membership_set,
)
from ingest.models import Membership


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices)


@login_required
@require_http_methods(["GET", "POST"])
def members(request, slug: str):
    project = project_get_admin(slug=slug, user=request.user)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership_set(project=project, **form.cleaned_data)
        except MembershipError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{form.cleaned_data['username']} is now a member.")
            return redirect("project_settings:members", slug=project.slug)
    rows = Membership.objects.filter(project=project).select_related("user")
    context = {
        "project": project,
        "section": "members",
        "form": form,
        "members": rows.order_by("user__username"),
        "roles": Membership.Role.choices,
    }
    return render(request, "project_settings/members.html", context)


@login_required
@require_POST
def member_remove(request, slug: str, membership_id: int):
    project = project_get_admin(slug=slug, user=request.user)
    membership = get_object_or_404(Membership, project=project, pk=membership_id)
    try:
        membership_remove(membership=membership)
    except MembershipError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user.get_username()} was removed.")
    return redirect("project_settings:members", slug=project.slug)
