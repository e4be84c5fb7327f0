"""Forms of the Integrations settings page. Credentials are write-only: never rendered back."""

from django import forms

from notify.models import EVENTS, GATES, ForgeIntegration, Webhook

EVENT_HELP = {
    "regression": "regression: the default branch has new failures",
    "target.reached": "target.reached: the project or a category reaches its target",
    "run.flagged": "run.flagged: a run is flagged (incomplete, denominator)",
    "run.completed": "run.completed: every completed run",
    "test.quarantined": "test.quarantined: a test is quarantined or its quarantine renewed "
    "(by a person or by detection)",
    "quarantine.expired": "quarantine.expired: a quarantine ran out and the test is active again",
    "digest.weekly": "digest.weekly: the weekly flaky-test digest (flaky, quarantined, expiring)",
}


class ForgeForm(forms.Form):
    prefix = "forge"
    kind = forms.ChoiceField(label="Forge", choices=ForgeIntegration.Kind.choices)
    repo = forms.CharField(
        label="Repository or project",
        max_length=300,
        help_text="GitHub: owner/name. GitLab: the project's numeric id or its path.",
    )
    api_url = forms.URLField(
        label="API URL",
        required=False,
        assume_scheme="https",
        help_text="Blank: https://api.github.com or https://gitlab.com/api/v4. Enterprise "
        "Server: https://HOST/api/v3; self-managed GitLab: https://HOST/api/v4.",
    )
    token = forms.CharField(
        label="Token",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only: stored encrypted, never shown. Blank keeps the current token.",
    )
    gates = forms.MultipleChoiceField(
        label="Commit status fails on",
        choices=[(g, g) for g in GATES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, has_token: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_token = has_token

    def clean(self):
        data = super().clean()
        if not data.get("token") and not self.has_token:
            self.add_error("token", "A token is needed.")
        return data


class WebhookForm(forms.Form):
    prefix = "hook"
    kind = forms.ChoiceField(choices=Webhook.Kind.choices)
    url = forms.URLField(
        label="URL",
        max_length=2000,
        assume_scheme="https",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only (Slack and Teams URLs carry their own secret): only the host "
        "is shown afterwards.",
    )
    events = forms.MultipleChoiceField(
        choices=[(e, EVENT_HELP[e]) for e in EVENTS], widget=forms.CheckboxSelectMultiple
    )
    secret = forms.CharField(
        label="Signing secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Generic webhooks: signs each body (X-Passline-Signature: sha256=…).",
    )


class WebhookEventsForm(forms.Form):
    events = forms.MultipleChoiceField(
        choices=[(e, EVENT_HELP[e]) for e in EVENTS], widget=forms.CheckboxSelectMultiple
    )
    secret = forms.CharField(
        label="New signing secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Blank keeps the current one.",
    )
