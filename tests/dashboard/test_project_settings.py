"""Project settings pages: who may use them, general settings, categories, uploads."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from ingest.models import Category, Membership, Project, Upload
from ingest.percent import bp_to_percent, percent_to_bp
from tests.factories import CategoryFactory, ProjectFactory, RunFactory, UploadFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "/p/{slug}/settings/",
    "/p/{slug}/settings/categories/",
    "/p/{slug}/settings/rules/",
    "/p/{slug}/settings/tokens/",
    "/p/{slug}/settings/uploads/",
    "/p/{slug}/settings/members/",
]


@pytest.fixture
def project():
    return ProjectFactory(slug="acme", name="Acme", is_public=False, target_bp=9000)


def _granted(user, codename: str):
    """Give `user` the ingest permission `codename` (as the admin would) and return it."""
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="ingest", codename=codename)
    )
    return user


@pytest.fixture
def users(project):
    User = get_user_model()
    viewer = User.objects.create_user("viewer")
    admin = User.objects.create_user("admin")
    Membership.objects.create(project=project, user=viewer, role=Membership.Role.VIEWER)
    Membership.objects.create(project=project, user=admin, role=Membership.Role.ADMIN)
    return {
        "viewer": viewer,
        "admin": admin,
        "stranger": User.objects.create_user("stranger"),
        "staff": User.objects.create_user("staff", is_staff=True),
        "superuser": User.objects.create_superuser("root"),
        "granted": _granted(User.objects.create_user("granted"), "change_project"),
        "reader": _granted(User.objects.create_user("reader", is_staff=True), "view_project"),
    }


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_is_sent_to_sign_in(client, project, page):
    response = client.get(page.format(slug="acme"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("page", PAGES)
def test_non_member_gets_404_for_private_project(client, project, users, page):
    client.force_login(users["stranger"])
    assert client.get(page.format(slug="acme")).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_non_member_gets_403_for_public_project(client, project, users, page):
    Project.objects.filter(pk=project.pk).update(is_public=True)
    client.force_login(users["stranger"])
    assert client.get(page.format(slug="acme")).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_viewer_gets_403(client, project, users, page):
    client.force_login(users["viewer"])
    assert client.get(page.format(slug="acme")).status_code == 403


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("who", ["admin", "superuser", "granted"])
def test_admins_superusers_and_granted_users_see_the_pages(client, project, users, page, who):
    client.force_login(users[who])
    assert client.get(page.format(slug="acme")).status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_staff_is_not_project_admin(client, project, users, page):
    client.force_login(users["staff"])
    assert client.get(page.format(slug="acme")).status_code == 404  # cannot even see it
    client.force_login(users["reader"])  # staff who may read every project: still 403
    assert client.get(page.format(slug="acme")).status_code == 403


def test_staff_cannot_mint_tokens(client, project, users):
    from ingest.models import ApiToken

    Project.objects.filter(pk=project.pk).update(is_public=True)
    client.force_login(users["staff"])
    response = client.post("/p/acme/settings/tokens/", {"scope": "upload", "name": "x"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_viewer_cannot_post_settings(client, project, users):
    client.force_login(users["viewer"])
    response = client.post("/p/acme/settings/", {"name": "Hacked", "target_percent": "1"})
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.name == "Acme"


def test_posts_require_csrf(project, users):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["admin"])
    response = client.post("/p/acme/settings/", {"name": "X", "target_percent": "50"})
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.name == "Acme"


@pytest.mark.parametrize(
    ("percent", "bp"), [("92.5", 9250), ("0", 0), ("100", 10000), ("33.33", 3333)]
)
def test_percent_converts_to_basis_points_exactly(percent, bp):
    assert percent_to_bp(Decimal(percent)) == bp
    assert bp_to_percent(bp) == Decimal(percent).quantize(Decimal("0.01"))


def general_data(**overrides):
    data = {
        "name": "Acme Web",
        "default_branch": "trunk",
        "target_percent": "92.55",
        "target_due": "2027-03-01",
        "skipped_in_total": "",
        "flaky_counts_as_pass": "on",
        "is_public": "on",
        "baseline_run": "",
    }
    data.update(overrides)
    return data


def test_admin_saves_general_settings(client, project, users):
    baseline = RunFactory(project=project, is_complete=True, key="base-1")
    client.force_login(users["admin"])
    response = client.post("/p/acme/settings/", general_data(baseline_run=str(baseline.pk)))
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.name == "Acme Web"
    assert project.default_branch == "trunk"
    assert project.target_bp == 9255
    assert str(project.target_due) == "2027-03-01"
    assert project.skipped_in_total is False
    assert project.flaky_counts_as_pass is True
    assert project.is_public is True
    assert project.baseline_run == baseline


@pytest.mark.parametrize("bad", ["100.01", "-1", "92.555", "abc", "NaN", "Infinity", "1e400"])
def test_rejects_bad_targets(client, project, users, bad):
    client.force_login(users["admin"])
    response = client.post("/p/acme/settings/", general_data(target_percent=bad))
    assert response.status_code == 200
    assert "target_percent" in response.context["form"].errors
    project.refresh_from_db()
    assert project.target_bp == 9000


def test_baseline_must_be_a_complete_run_of_this_project(client, project, users):
    incomplete = RunFactory(project=project, is_complete=False)
    other = RunFactory(project=ProjectFactory(slug="other"), is_complete=True)
    client.force_login(users["admin"])
    for run in (incomplete, other):
        response = client.post("/p/acme/settings/", general_data(baseline_run=str(run.pk)))
        assert "baseline_run" in response.context["form"].errors
    project.refresh_from_db()
    assert project.baseline_run is None


def test_general_page_escapes_names(client, project, users):
    Project.objects.filter(pk=project.pk).update(name="<script>alert(1)</script>")
    RunFactory(project=project, key="<b>run</b>", is_complete=True)
    client.force_login(users["admin"])
    body = client.get("/p/acme/settings/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;b&gt;run&lt;/b&gt;" in body


def test_category_targets_and_due_dates(client, project, users):
    auth = CategoryFactory(project=project, name="Auth")
    db = CategoryFactory(project=project, name="Database", target_bp=5000)
    client.force_login(users["admin"])
    page = client.get("/p/acme/settings/categories/")
    assert page.status_code == 200
    order = [f.initial["category"] for f in page.context["formset"]]
    assert order == [auth.pk, db.pk]
    data = {
        "cat-TOTAL_FORMS": "2",
        "cat-INITIAL_FORMS": "2",
        "cat-0-category": str(auth.pk),
        "cat-0-target_percent": "95.25",
        "cat-0-target_due": "2027-01-31",
        "cat-1-category": str(db.pk),
        "cat-1-target_percent": "",
        "cat-1-target_due": "",
    }
    assert client.post("/p/acme/settings/categories/", data).status_code == 302
    auth.refresh_from_db()
    db.refresh_from_db()
    assert (auth.target_bp, str(auth.target_due)) == (9525, "2027-01-31")
    assert (db.target_bp, db.target_due) == (None, None)


def test_category_form_refuses_other_projects_category(client, project, users):
    foreign = CategoryFactory(project=ProjectFactory(slug="other"), name="Theirs")
    client.force_login(users["admin"])
    data = {
        "cat-TOTAL_FORMS": "1",
        "cat-INITIAL_FORMS": "1",
        "cat-0-category": str(foreign.pk),
        "cat-0-target_percent": "10",
        "cat-0-target_due": "",
    }
    response = client.post("/p/acme/settings/categories/", data)
    assert response.status_code == 200
    foreign.refresh_from_db()
    assert foreign.target_bp is None


def test_due_date_without_target_is_refused(client, project, users):
    auth = CategoryFactory(project=project, name="Auth")
    client.force_login(users["admin"])
    data = {
        "cat-TOTAL_FORMS": "1",
        "cat-INITIAL_FORMS": "1",
        "cat-0-category": str(auth.pk),
        "cat-0-target_percent": "",
        "cat-0-target_due": "2027-01-01",
    }
    assert client.post("/p/acme/settings/categories/", data).status_code == 200
    auth.refresh_from_db()
    assert auth.target_due is None


def test_add_category(client, project, users):
    client.force_login(users["admin"])
    response = client.post("/p/acme/settings/categories/", {"add": "1", "name": " Cache "})
    assert response.status_code == 302
    assert Category.objects.filter(project=project, name="Cache").exists()
    again = client.post("/p/acme/settings/categories/", {"add": "1", "name": "Cache"})
    assert again.status_code == 200
    assert Category.objects.filter(project=project, name="Cache").count() == 1


def test_problem_uploads_list_failed_and_quarantined_with_errors(client, project, users):
    run = RunFactory(project=project, key="ci-7")
    failed = UploadFactory(run=run, status=Upload.Status.FAILED, error="not JUnit <xml>")
    quarantined = UploadFactory(
        run=run,
        status=Upload.Status.QUARANTINED,
        error="database went away",
        attempts=5,
        quarantine_reason="Gave up after 5 attempt(s)",
    )
    UploadFactory(run=run, status=Upload.Status.PROCESSED)
    client.force_login(users["admin"])
    response = client.get("/p/acme/settings/uploads/")
    assert [u.pk for u in response.context["uploads"]] == [quarantined.pk, failed.pk]
    body = response.content.decode()
    assert "not JUnit &lt;xml&gt;" in body
    assert "Gave up after 5 attempt(s)" in body


def test_retry_requeues_a_quarantined_upload(
    client, project, users, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("ingest.tasks.upload_process.delay", lambda pk: sent.append(pk))
    upload = UploadFactory(
        run=RunFactory(project=project),
        status=Upload.Status.QUARANTINED,
        attempts=5,
        quarantine_reason="Gave up",
    )
    client.force_login(users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/p/acme/settings/uploads/{upload.pk}/retry/")
    assert response.status_code == 302
    upload.refresh_from_db()
    assert (upload.status, upload.attempts, upload.quarantine_reason) == ("queued", 0, "")
    assert sent == [upload.pk]


def test_retry_is_post_only_and_admin_only(client, project, users):
    upload = UploadFactory(run=RunFactory(project=project), status=Upload.Status.FAILED)
    client.force_login(users["admin"])
    assert client.get(f"/p/acme/settings/uploads/{upload.pk}/retry/").status_code == 405
    client.force_login(users["viewer"])
    assert client.post(f"/p/acme/settings/uploads/{upload.pk}/retry/").status_code == 403
    upload.refresh_from_db()
    assert upload.status == "failed"


def test_retry_of_another_projects_upload_is_404(client, project, users):
    upload = UploadFactory(
        run=RunFactory(project=ProjectFactory(slug="other")), status=Upload.Status.FAILED
    )
    client.force_login(users["admin"])
    assert client.post(f"/p/acme/settings/uploads/{upload.pk}/retry/").status_code == 404


def test_list_pages_query_counts(client, project, users, django_assert_num_queries):
    from ingest.services.tokens import token_create

    run = RunFactory(project=project)
    for _ in range(3):
        token_create(project=project, scope="upload")
        UploadFactory(run=run, status=Upload.Status.FAILED, error="bad")
    client.force_login(users["admin"])
    # session, user, user permissions, group permissions (may they read every project? once
    # per request), project (visible), admin membership, nav projects, tokens
    with django_assert_num_queries(8):
        assert client.get("/p/acme/settings/tokens/").status_code == 200
    # session, user, user + group permissions, project (visible), admin membership,
    # uploads + runs (join), nav projects
    with django_assert_num_queries(8):
        assert client.get("/p/acme/settings/uploads/").status_code == 200


def test_retry_refuses_uploads_whose_files_were_pruned(client, project, users):
    from django.utils import timezone

    upload = UploadFactory(
        run=RunFactory(project=project), status=Upload.Status.FAILED, raw_pruned_at=timezone.now()
    )
    client.force_login(users["admin"])
    response = client.post(f"/p/acme/settings/uploads/{upload.pk}/retry/", follow=True)
    assert "cannot be retried" in response.content.decode()
    upload.refresh_from_db()
    assert upload.status == "failed"


def test_members_add_change_role_and_remove(client, project, users):
    newcomer = get_user_model().objects.create_user("newcomer")
    client.force_login(users["admin"])
    response = client.post("/p/acme/settings/members/", {"username": "newcomer", "role": "viewer"})
    assert response.status_code == 302
    membership = Membership.objects.get(project=project, user=newcomer)
    assert membership.role == "viewer"
    client.post("/p/acme/settings/members/", {"username": "newcomer", "role": "admin"})
    membership.refresh_from_db()
    assert membership.role == "admin"
    client.post(f"/p/acme/settings/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_members_refuses_unknown_users_and_losing_the_last_admin(client, project, users):
    client.force_login(users["admin"])
    response = client.post("/p/acme/settings/members/", {"username": "ghost", "role": "admin"})
    assert response.status_code == 200
    assert "No user is called" in response.content.decode()
    admin = Membership.objects.get(project=project, user=users["admin"])
    response = client.post("/p/acme/settings/members/", {"username": "admin", "role": "viewer"})
    assert "at least one admin" in response.content.decode()
    client.post(f"/p/acme/settings/members/{admin.pk}/remove/")
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_members_page_is_admin_only(client, project, users):
    client.force_login(users["viewer"])
    assert client.get("/p/acme/settings/members/").status_code == 403
    response = client.post("/p/acme/settings/members/", {"username": "viewer", "role": "admin"})
    assert response.status_code == 403
    assert Membership.objects.get(project=project, user=users["viewer"]).role == "viewer"
