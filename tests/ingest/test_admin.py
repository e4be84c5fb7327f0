"""The ingest admin: pages load, tokens are read-only and can be revoked."""

import pytest
from django.urls import reverse

from ingest.models import ApiToken
from ingest.services.tokens import token_create
from tests.factories import ProjectFactory, UploadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["project", "categoryrule", "apitoken", "run", "upload", "test", "result"]
)
def test_changelists_load(admin_client, model):
    UploadFactory()
    assert admin_client.get(reverse(f"admin:ingest_{model}_changelist")).status_code == 200


def test_token_page_shows_digest_read_only_and_no_plaintext(admin_client):
    row, plaintext = token_create(project=ProjectFactory(), scope="upload")
    page = admin_client.get(reverse("admin:ingest_apitoken_change", args=[row.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert row.digest in html
    assert 'name="digest"' not in html  # read-only, not an input
    assert plaintext not in html
    assert admin_client.get(reverse("admin:ingest_apitoken_add")).status_code == 403


def test_token_status_filter_and_revoke_action(admin_client):
    row, _ = token_create(project=ProjectFactory(), scope="read")
    url = reverse("admin:ingest_apitoken_changelist")
    assert row.prefix in admin_client.get(url, {"status": "active"}).content.decode()
    admin_client.post(url, {"action": "revoke", "_selected_action": [row.pk]})
    assert ApiToken.objects.get().revoked_at is not None
    assert row.prefix not in admin_client.get(url, {"status": "active"}).content.decode()


def rule_post(project, category, **overrides):
    data = {
        "project": project.pk,
        "category": category.pk,
        "field": "name",
        "kind": "regex",
        "pattern": "^test_login",
        "position": 0,
    }
    return data | overrides


def test_rule_form_runs_the_pattern_check_and_same_project_category(
    admin_client, django_capture_on_commit_callbacks
):
    from ingest.models import CategoryRule
    from tests.factories import CategoryFactory

    shop, other = ProjectFactory(slug="shop"), ProjectFactory(slug="other")
    auth, foreign = CategoryFactory(project=shop, name="Auth"), CategoryFactory(project=other)
    url = reverse("admin:ingest_categoryrule_add")
    refused = admin_client.post(url, rule_post(shop, auth, pattern="(?=a)b"))
    assert refused.status_code == 200
    assert "linear time" in refused.content.decode()
    refused = admin_client.post(url, rule_post(shop, foreign))
    assert "Choose a category of the rule&#x27;s project." in refused.content.decode()
    assert not CategoryRule.objects.exists()
    with django_capture_on_commit_callbacks() as callbacks:
        assert admin_client.post(url, rule_post(shop, auth)).status_code == 302
    assert len(callbacks) == 1  # the project's results are re-categorised after commit
    rule = CategoryRule.objects.get()
    change = reverse("admin:ingest_categoryrule_change", args=[rule.pk])
    assert admin_client.post(change, rule_post(shop, auth, pattern="(a)\\1")).status_code == 200
    rule.refresh_from_db()
    assert rule.pattern == "^test_login"


def project_post(project, **overrides):
    data = {
        "slug": project.slug,
        "name": project.name,
        "default_branch": project.default_branch,
        "target_bp": project.target_bp,
        "baseline_run": "",
    }
    for prefix in ("membership_set", "categories"):  # the inlines' management forms
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    return data | overrides


def test_project_form_accepts_only_a_complete_run_of_its_own_as_baseline(admin_client):
    from ingest.models import Project
    from tests.factories import RunFactory

    shop, other = ProjectFactory(slug="shop"), ProjectFactory(slug="other")
    foreign = RunFactory(project=other, is_complete=True)
    running = RunFactory(project=shop, is_complete=False)
    good = RunFactory(project=shop, is_complete=True)
    url = reverse("admin:ingest_project_change", args=[shop.pk])
    page = admin_client.post(url, project_post(shop, baseline_run=foreign.pk)).content.decode()
    assert "Choose a run of this project." in page
    page = admin_client.post(url, project_post(shop, baseline_run=running.pk)).content.decode()
    assert "Choose a complete run" in page
    assert Project.objects.get(pk=shop.pk).baseline_run_id is None
    assert admin_client.post(url, project_post(shop, baseline_run=good.pk)).status_code == 302
    assert Project.objects.get(pk=shop.pk).baseline_run_id == good.pk


def test_result_form_keeps_test_and_category_in_the_run_s_project():
    from django.forms.models import model_to_dict

    from ingest.admin import ResultAdminForm
    from ingest.models import Result
    from tests.factories import CategoryFactory, RunFactory, TestFactory

    shop, other = ProjectFactory(slug="shop"), ProjectFactory(slug="other")
    run = RunFactory(project=shop)
    result = Result.objects.create(
        run=run,
        test=TestFactory(project=shop),
        upload=UploadFactory(run=run),
        category=CategoryFactory(project=shop),
        outcome=1,
    )
    data = model_to_dict(result)
    assert ResultAdminForm(data=data, instance=result).is_valid()
    data |= {"test": TestFactory(project=other).pk, "category": CategoryFactory(project=other).pk}
    form = ResultAdminForm(data=data, instance=result)
    assert not form.is_valid()
    assert set(form.errors) == {"test", "category"}


def _category_forms(categories, delete: set[int]) -> dict:
    """POST data of the categories inline, deleting the categories whose pk is in `delete`."""
    data = {"categories-TOTAL_FORMS": len(categories), "categories-INITIAL_FORMS": len(categories)}
    for i, category in enumerate(categories):
        data |= {
            f"categories-{i}-id": category.pk,
            f"categories-{i}-project": category.project_id,
            f"categories-{i}-name": category.name,
        }
        if category.pk in delete:
            data[f"categories-{i}-DELETE"] = "on"
    return data


def test_a_category_with_results_cannot_be_deleted_and_an_unused_one_can(admin_client):
    from ingest.models import Category, Result
    from ingest.services.categories import category_has_results
    from tests.factories import CategoryFactory, RunFactory, TestFactory

    shop, other = ProjectFactory(slug="shop"), ProjectFactory(slug="other")
    used, unused = CategoryFactory(project=shop, name="Auth"), CategoryFactory(project=shop)
    elsewhere = CategoryFactory(project=shop, name="Api")

    def result(run, category):
        Result.objects.create(
            run=run,
            test=TestFactory(project=run.project),
            upload=UploadFactory(run=run),
            category=category,
            outcome=1,
        )

    # "Auth" has its only result in the older run; the newer run's is in "Api".
    result(RunFactory(project=shop), used)
    result(RunFactory(project=shop), elsewhere)
    # A result of another project naming the unused category changes nothing.
    result(RunFactory(project=other), unused)
    assert category_has_results(used)
    assert not category_has_results(unused)

    url = reverse("admin:ingest_project_change", args=[shop.pk])
    categories = [used, unused, elsewhere]
    page = admin_client.post(
        url, project_post(shop) | _category_forms(categories, delete={used.pk})
    )
    assert page.status_code == 200
    assert "Category &#x27;Auth&#x27; still has results" in page.content.decode()
    assert Category.objects.filter(pk=used.pk).exists()
    page = admin_client.post(
        url, project_post(shop) | _category_forms(categories, delete={unused.pk})
    )
    assert page.status_code == 302
    assert set(Category.objects.filter(project=shop)) == {used, elsewhere}
    assert Result.objects.filter(run__project=shop).count() == 2
