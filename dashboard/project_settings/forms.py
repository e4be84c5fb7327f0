"""Forms of the settings pages; targets are typed as percents and stored as basis points."""

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils import timezone

from ingest.models import ApiToken, Category, CategoryRule, Project, Run
from ingest.patterns import PatternError, pattern_check
from ingest.percent import bp_to_percent

PERCENT_HELP = "Percent with up to 2 decimals, e.g. 92.5 (stored exactly)."


def percent_field(*, required: bool) -> forms.DecimalField:
    return forms.DecimalField(
        label="Target (%)",
        required=required,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
        help_text=PERCENT_HELP,
    )


class GeneralForm(forms.Form):
    name = forms.CharField(max_length=200)
    default_branch = forms.CharField(max_length=255)
    target_percent = percent_field(required=True)
    target_due = forms.DateField(
        label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    skipped_in_total = forms.BooleanField(
        label="Count skipped tests in the total (they never count as passed)", required=False
    )
    flaky_counts_as_pass = forms.BooleanField(
        label="A test that passed on a retry counts as passed", required=False
    )
    is_public = forms.BooleanField(label="Public: anyone can read the dashboard", required=False)
    baseline_run = forms.ModelChoiceField(
        queryset=Run.objects.none(),
        required=False,
        empty_label="(none: progress is measured from the first run)",
        help_text="Progress is measured from this run's pass rate. Complete runs only.",
    )

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        # The 200 newest complete runs, plus the current baseline if it is older.
        recent = list(
            Run.objects.filter(project=project, is_complete=True)
            .order_by("-started_at", "-id")
            .values_list("pk", flat=True)[:200]
        )
        if project.baseline_run_id:
            recent.append(project.baseline_run_id)
        field = self.fields["baseline_run"]
        field.queryset = Run.objects.filter(
            project=project, is_complete=True, pk__in=recent
        ).order_by("-started_at", "-id")
        field.label_from_instance = lambda run: (
            f"{run.key} · {run.branch or 'no branch'} · {run.started_at:%Y-%m-%d %H:%M} UTC"
        )

    @classmethod
    def initial_for(cls, project: Project) -> dict:
        return {
            "name": project.name,
            "default_branch": project.default_branch,
            "target_percent": bp_to_percent(project.target_bp),
            "target_due": project.target_due,
            "skipped_in_total": project.skipped_in_total,
            "flaky_counts_as_pass": project.flaky_counts_as_pass,
            "is_public": project.is_public,
            "baseline_run": project.baseline_run_id,
        }


class CategoryTargetForm(forms.Form):
    category = forms.ModelChoiceField(queryset=Category.objects.none(), widget=forms.HiddenInput)
    target_percent = percent_field(required=False)
    target_due = forms.DateField(
        label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(project=project)

    def clean(self):
        data = super().clean()
        if data.get("target_due") and data.get("target_percent") is None:
            self.add_error("target_percent", "A due date needs a target.")
        return data


class BaseCategoryTargetFormSet(forms.BaseFormSet):
    def __init__(self, *args, project: Project, **kwargs):
        self.project = project
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "project": self.project}


CategoryTargetFormSet = forms.formset_factory(
    CategoryTargetForm, formset=BaseCategoryTargetFormSet, extra=0, max_num=1000
)


class CategoryAddForm(forms.Form):
    name = forms.CharField(label="New category", max_length=200)

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Enter a name.")
        if Category.objects.filter(project=self.project, name=name).exists():
            raise forms.ValidationError("This project already has a category with that name.")
        return name


class RuleForm(forms.Form):
    field = forms.ChoiceField(choices=CategoryRule.Field.choices)
    kind = forms.ChoiceField(choices=CategoryRule.Kind.choices)
    pattern = forms.CharField(max_length=500, strip=False)
    category = forms.ModelChoiceField(queryset=Category.objects.none())
    new_category = forms.CharField(
        label="or a new category", max_length=200, required=False, help_text="Created on save."
    )

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(project=project)
        self.fields["category"].required = False

    def clean(self):
        data = super().clean()
        if "pattern" in data and "kind" in data:
            try:
                pattern_check(kind=data["kind"], pattern=data["pattern"])
            except PatternError as exc:
                self.add_error("pattern", str(exc))
        data["new_category"] = (data.get("new_category") or "").strip()
        if not data.get("category") and not data["new_category"]:
            self.add_error("category", "Choose a category or name a new one.")
        return data


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, help_text="e.g. GitHub Actions")
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.UPLOAD)
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional; the token stops working at 00:00 UTC that day.",
    )

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        if value is not None and value <= timezone.now().date():
            raise forms.ValidationError("Choose a date after today.")
        return value

    def expires_at(self) -> dt.datetime | None:
        value = self.cleaned_data.get("expires_on")
        return None if value is None else dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
