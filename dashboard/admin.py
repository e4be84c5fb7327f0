"""Read-only admin views of the analytics tables (they are recomputed, never edited)."""

from django.contrib import admin

from dashboard.models import RunCategoryStats, RunStats, TestStats, Trend, TrendClaim


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RunStats)
class RunStatsAdmin(ReadOnlyAdmin):
    list_display = (
        "run",
        "branch",
        "started_at",
        "passed",
        "total",
        "flag_incomplete",
        "flag_denominator",
    )
    list_filter = ("is_complete", "flag_incomplete", "flag_denominator")
    list_select_related = ("run", "run__project")
    search_fields = ("run__key", "branch")


@admin.register(RunCategoryStats)
class RunCategoryStatsAdmin(ReadOnlyAdmin):
    list_display = ("run", "category", "passed", "total")
    list_select_related = ("run", "run__project", "category")
    search_fields = ("run__key", "category__name")


@admin.register(Trend)
class TrendAdmin(ReadOnlyAdmin):
    list_display = (
        "project",
        "branch",
        "category",
        "slope_per_day",
        "eta",
        "on_track",
        "computed_at",
    )
    list_select_related = ("project", "category")


@admin.register(TestStats)
class TestStatsAdmin(ReadOnlyAdmin):
    list_display = ("test", "category", "failing_runs", "flake_rate", "computed_at")
    list_select_related = ("test", "category")
    search_fields = ("test__name", "test__classname")


@admin.register(TrendClaim)
class TrendClaimAdmin(ReadOnlyAdmin):
    """A refresh queued or running per project, and how many were asked for and run."""

    list_display = ("project", "queued", "running_since", "requested", "refreshed")
    list_select_related = ("project",)
