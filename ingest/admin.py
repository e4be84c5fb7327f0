"""Admin for ingest: browse projects, runs and uploads; manage tokens without secrets.

Tokens are created with ``manage.py createtoken`` (the only place the plaintext is
shown); the admin shows prefixes and digests read-only and can revoke. Forms that the
settings pages also offer check what those pages check: a rule's pattern compiles under
the linear-time engine and its category is of the rule's project; a baseline is a
complete run of its own project.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone

from ingest.models import (
    ApiToken,
    Category,
    CategoryRule,
    Membership,
    Project,
    Result,
    Run,
    Test,
    Upload,
    UploadFile,
)
from ingest.patterns import PatternError, pattern_check
from ingest.services.categories import category_has_results
from ingest.services.recategorize_jobs import recategorize_job_start


class ProjectAdminForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = "__all__"  # noqa: DJ007 - the admin shows every field of a project

    def clean_baseline_run(self) -> Run | None:
        run = self.cleaned_data.get("baseline_run")
        if run is None:
            return None
        if self.instance.pk is None or run.project_id != self.instance.pk:
            raise forms.ValidationError("Choose a run of this project.")
        if not run.is_complete:
            raise forms.ValidationError("Choose a complete run: progress is measured from it.")
        return run


class CategoryRuleAdminForm(forms.ModelForm):
    class Meta:
        model = CategoryRule
        fields = "__all__"  # noqa: DJ007 - the admin shows every field of a rule

    def clean(self) -> dict:
        data = super().clean()
        kind, pattern = data.get("kind"), data.get("pattern")
        if kind and pattern is not None:
            try:
                pattern_check(kind=kind, pattern=pattern)
            except PatternError as exc:
                self.add_error("pattern", str(exc))
        project, category = data.get("project"), data.get("category")
        if project and category and category.project_id != project.pk:
            self.add_error("category", "Choose a category of the rule's project.")
        return data


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class CategoryFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.deleted_forms:
            category = form.instance
            if category.pk is not None and category_has_results(category):
                raise forms.ValidationError(
                    f"Category {category.name!r} still has results, so it cannot be "
                    "deleted. Change the category rules so that no test falls in it, "
                    "re-apply them (results whose upload chose the category keep it), "
                    "then delete it."
                )


class CategoryInline(admin.TabularInline):
    model = Category
    formset = CategoryFormSet
    extra = 0


class ResultAdminForm(forms.ModelForm):
    class Meta:
        model = Result
        fields = "__all__"  # noqa: DJ007 - the admin shows every field of a result

    def clean(self) -> dict:
        data = super().clean()
        run, test, category = data.get("run"), data.get("test"), data.get("category")
        if run and test and test.project_id != run.project_id:
            self.add_error("test", "Choose a test of the run's project.")
        if run and category and category.project_id != run.project_id:
            self.add_error("category", "Choose a category of the run's project.")
        return data


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    form = ProjectAdminForm
    list_display = ["slug", "name", "target_percent", "target_due", "default_branch", "is_public"]
    list_filter = ["is_public"]
    search_fields = ["slug", "name"]
    raw_id_fields = ["baseline_run"]
    inlines = [MembershipInline, CategoryInline]

    @admin.display(description="target", ordering="target_bp")
    def target_percent(self, obj: Project) -> str:
        return f"{obj.target_bp / 100:g} %"


@admin.register(CategoryRule)
class CategoryRuleAdmin(admin.ModelAdmin):
    form = CategoryRuleAdminForm
    list_display = ["project", "position", "field", "kind", "pattern", "category"]
    list_filter = ["project", "field", "kind"]
    search_fields = ["pattern", "category__name"]
    ordering = ["project", "position", "id"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._recategorize(request, obj.project_id)

    def delete_model(self, request, obj):
        project_id = obj.project_id
        super().delete_model(request, obj)
        self._recategorize(request, project_id)

    def delete_queryset(self, request, queryset):
        project_ids = set(queryset.values_list("project_id", flat=True))
        super().delete_queryset(request, queryset)
        for project_id in project_ids:
            self._recategorize(request, project_id)

    def _recategorize(self, request, project_id: int) -> None:
        """Re-apply the project's rules after commit, as the settings page does."""
        recategorize_job_start(project=Project(pk=project_id), user=request.user)
        self.message_user(request, "Re-categorisation of the project's results is queued.")


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True).filter(
                Q(expires_at__isnull=True) | Q(expires_at__gt=now)
            )
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "project",
        "scope",
        "name",
        "status",
        "created_at",
        "expires_at",
        "last_used_at",
    ]
    list_filter = [TokenStatusFilter, "scope", "project"]
    search_fields = ["prefix", "name", "project__slug"]
    fields = [
        "project",
        "name",
        "scope",
        "prefix",
        "digest",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    readonly_fields = [
        "project",
        "scope",
        "prefix",
        "digest",
        "created_by",
        "created_at",
        "revoked_at",
        "last_used_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Creating a token must show its plaintext once; `createtoken` does that.
        return False

    @admin.display(description="status")
    def status(self, obj: ApiToken) -> str:
        if obj.revoked_at:
            return "revoked"
        if obj.expires_at and obj.expires_at <= timezone.now():
            return "expired"
        return "active"

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["key", "project", "branch", "commit", "started_at", "is_complete"]
    list_filter = ["is_complete", "timestamp_explicit", "project"]
    search_fields = ["key", "commit", "branch"]
    date_hierarchy = "started_at"
    readonly_fields = ["created_at", "last_upload_at", "completed_at"]


class UploadFileInline(admin.TabularInline):
    model = UploadFile
    extra = 0
    can_delete = False
    readonly_fields = ["filename", "content_type", "raw", "size", "sha256"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "run", "status", "tests", "passed", "failed", "created_at"]
    list_filter = ["status", "is_final", "project"]
    search_fields = ["run__key", "idempotency_key", "error"]
    date_hierarchy = "created_at"
    raw_id_fields = ["run", "token"]
    inlines = [UploadFileInline]
    readonly_fields = [
        "project",
        "run",
        "token",
        "category",
        "is_final",
        "idempotency_key",
        "request_fingerprint",
        "response",
        "error",
        "error_line",
        "error_column",
        "warnings",
        "attempts",
        "tests",
        "passed",
        "failed",
        "errors",
        "skipped",
        "flaky",
        "created_at",
        "started_at",
        "processed_at",
        "raw_pruned_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(Test)
class TestAdmin(admin.ModelAdmin):
    list_display = ["name", "classname", "file", "project", "first_seen_at"]
    list_filter = ["project"]
    search_fields = ["name", "classname", "file", "identity"]
    readonly_fields = ["identity", "first_seen_at"]


@admin.register(Result)
class ResultAdmin(admin.ModelAdmin):
    form = ResultAdminForm
    list_display = ["test", "run", "outcome", "flaky", "attempts", "duration", "category"]
    list_filter = ["outcome", "flaky", "category_forced", "run__project"]
    search_fields = ["test__name", "test__classname", "run__key"]
    raw_id_fields = ["run", "test", "upload", "category"]
