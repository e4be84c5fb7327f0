"""Settings page: paste the project's CODEOWNERS, see its rules and skipped lines."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.analytics.owners import parse
from dashboard.codeowners.services import CodeOwnersRefused, codeowners_set
from dashboard.project_settings.access import project_get_admin
from dashboard.selectors.owners import codeowners_row_get


class CodeOwnersForm(forms.Form):
    text = forms.CharField(
        label="CODEOWNERS",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "cols": 80, "spellcheck": "false"}),
        help_text=(
            "GitHub syntax: a pattern, then @user, @org/team or e-mail owners; the last "
            "matching line wins. Empty: no owners."
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def codeowners(request, slug: str):
    project = project_get_admin(slug=slug, user=request.user)
    row = codeowners_row_get(project=project)
    if request.method == "POST":
        form = CodeOwnersForm(request.POST)
        if form.is_valid():
            try:
                _, problems = codeowners_set(
                    project=project,
                    text=form.cleaned_data["text"],
                    source="settings",
                    user=request.user,
                )
            except CodeOwnersRefused as exc:
                form.add_error("text", str(exc))
            else:
                note = f" {len(problems)} line(s) skipped." if problems else ""
                messages.success(request, f"CODEOWNERS saved.{note}")
                return redirect("project_settings:codeowners", slug=project.slug)
    else:
        form = CodeOwnersForm(initial={"text": row.text if row else ""})
    parsed = parse(row.text if row else "")
    return render(
        request,
        "project_settings/codeowners.html",
        {
            "project": project,
            "section": "codeowners",
            "form": form,
            "row": row,
            "parsed": parsed,
        },
    )
