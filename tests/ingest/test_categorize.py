"""Categories: forced by the upload, else the first matching rule, else Uncategorized."""

import pytest

from ingest import signals
from ingest.categorize import CategoryMatcher, project_recategorize
from ingest.models import Category, CategoryRule, Result
from ingest.processing import upload_process
from tests.factories import CategoryFactory, ProjectFactory
from tests.ingest.test_processing import case, report, stored_upload

pytestmark = pytest.mark.django_db


def _rule(project, category, position, field, pattern, kind=CategoryRule.Kind.GLOB):
    return CategoryRule.objects.create(
        project=project,
        category=category,
        position=position,
        field=field,
        kind=kind,
        pattern=pattern,
    )


@pytest.fixture
def project():
    return ProjectFactory(slug="shop")


@pytest.fixture
def auth(project):
    return CategoryFactory(project=project, name="Auth")


@pytest.fixture
def cache(project):
    return CategoryFactory(project=project, name="Cache")


def _categories(run):
    return {
        r.test.name: (r.category.name, r.category_forced)
        for r in Result.objects.filter(run=run).select_related("test", "category")
    }


def test_first_matching_rule_wins_else_uncategorized(project, auth, cache):
    _rule(project, auth, 1, CategoryRule.Field.FILE, "tests/auth/*")
    _rule(project, cache, 2, CategoryRule.Field.CLASSNAME, r"\.cache\.", CategoryRule.Kind.REGEX)
    # Lower position is tried first, whatever the creation order.
    _rule(project, cache, 0, CategoryRule.Field.NAME, "test_cached_*")
    matcher = CategoryMatcher.for_project(project)
    kw = {"suite": "", "classname": "app.cache.Store"}
    assert matcher.category_for(file="tests/auth/test_login.py", name="test_x", **kw) == auth.pk
    assert matcher.category_for(file="tests/other.py", name="test_x", **kw) == cache.pk
    assert matcher.category_for(file="tests/auth/a.py", name="test_cached_a", **kw) == cache.pk
    uncategorized = Category.objects.get(project=project, name=Category.UNCATEGORIZED)
    assert (
        matcher.category_for(file="", classname="app.Other", suite="", name="t") == uncategorized.pk
    )


def test_glob_is_case_sensitive_and_regex_searches(project, auth):
    _rule(project, auth, 0, CategoryRule.Field.SUITE, "Auth*")
    _rule(project, auth, 1, CategoryRule.Field.NAME, "login", CategoryRule.Kind.REGEX)
    matcher = CategoryMatcher.for_project(project)
    default = matcher.default_id
    assert matcher.category_for(file="", classname="", suite="AuthSuite", name="x") == auth.pk
    assert matcher.category_for(file="", classname="", suite="authsuite", name="x") == default
    assert matcher.category_for(file="", classname="", suite="", name="test_login_ok") == auth.pk


@pytest.mark.parametrize("pattern", ["([unclosed", "test_(?=login)", r"(a)\1"])
def test_invalid_regex_rule_is_skipped_not_fatal(project, auth, cache, pattern):
    # Lookarounds and backreferences compiled under Python's re; RE2 refuses them.
    _rule(project, auth, 0, CategoryRule.Field.NAME, pattern, CategoryRule.Kind.REGEX)
    _rule(project, cache, 1, CategoryRule.Field.NAME, "*")
    matcher = CategoryMatcher.for_project(project)
    assert matcher.category_for(file="", classname="", suite="", name="t") == cache.pk


def test_processing_applies_rules_per_result(project, auth):
    _rule(project, auth, 0, CategoryRule.Field.CLASSNAME, "pkg.auth.*")
    xml = report(case("a", classname="pkg.auth.Login"), case("b", classname="pkg.shop.Cart"))
    upload = stored_upload(project, {"r.xml": xml})
    upload_process(upload_id=upload.pk)
    assert _categories(upload.run) == {
        "a": ("Auth", False),
        "b": (Category.UNCATEGORIZED, False),
    }


def test_upload_category_forces_every_result(project, auth):
    _rule(project, auth, 0, CategoryRule.Field.NAME, "*")
    upload = stored_upload(project, {"r.xml": report(case("a"), case("b"))}, category="Plex")
    upload_process(upload_id=upload.pk)
    assert _categories(upload.run) == {"a": ("Plex", True), "b": ("Plex", True)}
    assert Category.objects.filter(project=project, name="Plex").count() == 1


def test_recategorize_reapplies_rules_to_non_forced_results(
    project, auth, cache, django_capture_on_commit_callbacks
):
    plain = stored_upload(project, {"r.xml": report(case("a"), case("b"))}, run_key="r1")
    forced = stored_upload(project, {"r.xml": report(case("c"))}, run_key="r2", category="Plex")
    upload_process(upload_id=plain.pk)
    upload_process(upload_id=forced.pk)
    _rule(project, cache, 0, CategoryRule.Field.NAME, "[ac]")
    received = []

    def on_recategorized(**kwargs):
        received.append(kwargs["project_id"])

    signals.project_recategorized.connect(on_recategorized)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            changed = project_recategorize(project_id=project.pk)
    finally:
        signals.project_recategorized.disconnect(on_recategorized)
    assert changed == 1
    assert received == [project.pk]
    assert _categories(plain.run) == {"a": ("Cache", False), "b": (Category.UNCATEGORIZED, False)}
    assert _categories(forced.run) == {"c": ("Plex", True)}
    # Rules removed: results go back to Uncategorized.
    CategoryRule.objects.filter(project=project).delete()
    assert project_recategorize(project_id=project.pk) == 1
    assert _categories(plain.run)["a"] == (Category.UNCATEGORIZED, False)


def test_recategorize_leaves_other_projects_alone(project, cache):
    other = ProjectFactory(slug="other")
    upload = stored_upload(other, {"r.xml": report(case("a"))})
    upload_process(upload_id=upload.pk)
    _rule(project, cache, 0, CategoryRule.Field.NAME, "*")
    assert project_recategorize(project_id=project.pk) == 0
    assert _categories(upload.run) == {"a": (Category.UNCATEGORIZED, False)}
