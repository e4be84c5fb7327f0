"""Settings page of the flaky-test detectors (admins only): /p/<slug>/settings/flaky/."""

from dataclasses import asdict

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.analytics.flaky_rules import MAX_WINDOW
from dashboard.lifecycle.models import FlakyPolicy
from dashboard.lifecycle.policy import POLICY_FIELDS, policy_of, policy_row_get, policy_set
from dashboard.project_settings.access import project_get_admin


class DetectorsForm(forms.Form):
    action = forms.ChoiceField(
        label="When a detector finds a flaky test",
        choices=FlakyPolicy.Action.choices,
        widget=forms.RadioSelect,
    )
    retry_enabled = forms.BooleanField(label="Pass-on-retry detector", required=False)
    retry_k = forms.IntegerField(label="Retry passes (K)", min_value=1, max_value=MAX_WINDOW)
    retry_n = forms.IntegerField(label="… in the last runs (N)", min_value=1, max_value=MAX_WINDOW)
    rate_enabled = forms.BooleanField(label="Failure-rate detector", required=False)
    rate_low = forms.FloatField(label="Failure rate at least (0..1)", min_value=0, max_value=1)
    rate_high = forms.FloatField(label="Failure rate at most (0..1)", min_value=0, max_value=1)
    rate_flips = forms.IntegerField(label="Flips at least (M)", min_value=1, max_value=MAX_WINDOW)
    rate_n = forms.IntegerField(label="… in the last runs (N)", min_value=1, max_value=MAX_WINDOW)
    lift_after = forms.IntegerField(
        label="Back to active after this many passing runs in a row (R)",
        min_value=1,
        max_value=MAX_WINDOW,
    )


@login_required
@require_http_methods(["GET", "POST"])
def detectors(request, slug: str):
    """Show and save the project's detector settings."""
    project = project_get_admin(slug=slug, user=request.user)
    row = policy_row_get(project_id=project.pk)
    if request.method == "POST":
        form = DetectorsForm(request.POST)
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in POLICY_FIELDS}
            try:
                policy_set(project_id=project.pk, action=form.cleaned_data["action"], **values)
            except ValueError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Detector settings saved.")
                return redirect("project_settings:flaky", slug=project.slug)
    else:
        form = DetectorsForm(initial={"action": row.action, **asdict(policy_of(row))})
    return render(
        request,
        "project_settings/flaky.html",
        {"project": project, "section": "flaky", "form": form},
    )
