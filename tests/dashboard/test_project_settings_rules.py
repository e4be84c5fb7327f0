"""Category rules page: validation, ordering, live preview and re-categorisation jobs."""

import pytest
from django.contrib.auth import get_user_model

from dashboard.project_settings import rules as rule_services
from ingest.categorize import category_uncategorized
from ingest.models import Category, CategoryRule, Membership, RecategorizeJob, Result
from ingest.patterns import PatternError, pattern_check
from ingest.services import recategorize_jobs
from tests.factories import CategoryFactory, ProjectFactory, RunFactory, TestFactory, UploadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(slug="acme", is_public=False)


@pytest.fixture
def admin(project):
    user = get_user_model().objects.create_user("admin")
    Membership.objects.create(project=project, user=user, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def auth(project):
    return CategoryFactory(project=project, name="Auth")


@pytest.fixture
def history(project):
    """One run with four results, all Uncategorized."""
    run = RunFactory(project=project, key="r1")
    upload = UploadFactory(run=run)
    default = category_uncategorized(project_id=project.pk)
    tests = [
        TestFactory(
            project=project, classname="auth.Login", name="test_ok", file="tests/auth/t.py"
        ),
        TestFactory(
            project=project, classname="auth.Login", name="test_bad", file="tests/auth/t.py"
        ),
        TestFactory(project=project, classname="db.Pool", name="test_open", file="tests/db/t.py"),
        TestFactory(project=project, classname="<b>x</b>", name="test_html", file="tests/x.py"),
    ]
    for test in tests:
        Result.objects.create(run=run, test=test, upload=upload, category_id=default, outcome=1)
    return tests


def rule_data(category=None, **overrides):
    data = {"field": "classname", "kind": "glob", "pattern": "auth.*", "new_category": ""}
    data["category"] = str(category.pk) if category else ""
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a)\1",
        "(?P<x>a)(?P=x)",
        "(?=a)b",
        "(?<!a)b",
        "(?>(a+)+c)",
        "a*+b",
        r"foo\Z",
        "[unclosed",
        "(",
        "x{2000}",
        ".{0,1000}" * 10,
        "x" * 501,
    ],
)
def test_refuses_invalid_regexes_and_what_needs_backtracking(pattern):
    with pytest.raises(PatternError):
        pattern_check(kind="regex", pattern=pattern)


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("regex", "^tests/api/"),
        ("regex", "test_.*_login"),
        ("regex", "(foo|bar)+baz"),
        ("regex", r"\d{4}-\d{2}"),
        # Linear-time under RE2, so no longer refused.
        ("regex", "(a+)+b"),
        ("regex", r"(\w+\s?)*$"),
        ("regex", "(a|a)*c"),
        ("regex", "a{0,100}a{0,100}a{0,100}a{0,100}c"),
        ("regex", ".*foo.*bar"),
        ("glob", "*api*login*"),
        ("glob", "tests/[ab]*"),
    ],
)
def test_accepts_ordinary_patterns(kind, pattern):
    pattern_check(kind=kind, pattern=pattern)


def test_form_shows_pattern_errors_and_saves_nothing(client, project, admin, auth):
    client.force_login(admin)
    response = client.post(
        "/p/acme/settings/rules/", rule_data(auth, kind="regex", pattern="(?>(a+)+c)")
    )
    assert response.status_code == 400
    assert "atomic groups" in response.content.decode()
    assert not CategoryRule.objects.exists()
    assert not RecategorizeJob.objects.exists()


def test_form_needs_a_category(client, project, admin):
    client.force_login(admin)
    response = client.post("/p/acme/settings/rules/", rule_data())
    assert response.status_code == 400
    assert not CategoryRule.objects.exists()


def test_add_rule_with_new_category_and_recategorize_runs(
    client, project, admin, history, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/p/acme/settings/rules/", rule_data(new_category="Auth & Login"))
    assert response.status_code == 302
    rule = CategoryRule.objects.get()
    assert rule.category.name == "Auth & Login"
    assert (rule.field, rule.kind, rule.pattern, rule.position) == (
        "classname",
        "glob",
        "auth.*",
        0,
    )
    job = RecategorizeJob.objects.get()
    # Celery runs eagerly in tests: the task's signals moved the job to done.
    assert job.status == "done"
    assert (job.changed, job.results) == (2, 4)
    assert job.started_at is not None and job.finished_at is not None
    assert job.published_at is not None
    names = set(Result.objects.filter(category=rule.category).values_list("test__name", flat=True))
    assert names == {"test_ok", "test_bad"}
    page = client.get("/p/acme/settings/rules/").content.decode()
    assert "2 of 4 results changed category" in page
    status = client.get("/p/acme/settings/rules/job/").json()
    assert (status["status"], status["changed"], status["results"]) == ("done", 2, 4)


def test_saving_enqueues_recategorize_on_commit(
    project, admin, auth, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("ingest.tasks.project_recategorize.delay", sent.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        rule_services.rule_create(
            project=project, field="name", kind="glob", pattern="*", category=auth
        )
    assert sent == []  # nothing before commit
    for callback in callbacks:
        callback()
    assert sent == [project.pk]
    job = RecategorizeJob.objects.get()
    assert job.status == "queued" and job.published_at is not None


def test_saving_a_rule_never_waits_for_the_broker(
    client, project, admin, django_capture_on_commit_callbacks, monkeypatch
):
    """With a broker, the request only hands the job to the background publisher."""
    from ingest import dispatcher
    from passline.celery import app

    handed = []
    app.conf.task_always_eager = False  # restored by the autouse _eager_celery fixture
    monkeypatch.setattr(dispatcher._recategorize_publisher, "submit", handed.append)
    monkeypatch.setattr(
        "ingest.tasks.project_recategorize.delay",
        lambda pk: pytest.fail("published in the request"),
    )
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/p/acme/settings/rules/", rule_data(new_category="Auth"))
    assert response.status_code == 302
    job = RecategorizeJob.objects.get()
    assert handed == [job.pk]
    assert (job.status, job.published_at) == ("queued", None)  # the dispatcher's, if lost


def test_queued_job_is_reused_until_its_task_starts(project, auth, monkeypatch):
    monkeypatch.setattr("ingest.tasks.project_recategorize.delay", lambda pk: None)
    first = recategorize_jobs.recategorize_job_start(project=project)
    second = recategorize_jobs.recategorize_job_start(project=project)
    assert first.pk == second.pk
    RecategorizeJob.objects.filter(pk=first.pk).update(status="running")
    third = recategorize_jobs.recategorize_job_start(project=project)
    assert third.pk != first.pk


def test_failed_task_marks_job_failed(project, monkeypatch, django_capture_on_commit_callbacks):
    def boom(*, project_id):
        raise RuntimeError("disk full")

    monkeypatch.setattr("ingest.tasks.project_recategorize_service", boom)
    with django_capture_on_commit_callbacks(execute=True):
        job = recategorize_jobs.recategorize_job_start(project=project)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "disk full" in job.error


def make_rules(project, *patterns):
    category = CategoryFactory(project=project, name="C")
    return [
        CategoryRule.objects.create(
            project=project, category=category, field="name", kind="glob", pattern=p, position=i
        )
        for i, p in enumerate(patterns)
    ]


def order(project):
    return list(
        CategoryRule.objects.filter(project=project)
        .order_by("position", "id")
        .values_list("pattern", flat=True)
    )


def test_move_up_and_down(client, project, admin):
    a, b, c = make_rules(project, "a*", "b*", "c*")
    client.force_login(admin)
    client.post(f"/p/acme/settings/rules/{c.pk}/move/", {"direction": "up"})
    assert order(project) == ["a*", "c*", "b*"]
    client.post(f"/p/acme/settings/rules/{a.pk}/move/", {"direction": "down"})
    assert order(project) == ["c*", "a*", "b*"]
    # At the ends a move changes nothing.
    client.post(f"/p/acme/settings/rules/{c.pk}/move/", {"direction": "up"})
    client.post(f"/p/acme/settings/rules/{b.pk}/move/", {"direction": "down"})
    assert order(project) == ["c*", "a*", "b*"]
    assert (
        client.post(f"/p/acme/settings/rules/{b.pk}/move/", {"direction": "sideways"}).status_code
        == 302
    )
    assert order(project) == ["c*", "a*", "b*"]


def test_edit_keeps_position_and_delete_renumbers(client, project, admin, auth):
    a, b, _c = make_rules(project, "a*", "b*", "c*")
    client.force_login(admin)
    page = client.get(f"/p/acme/settings/rules/{b.pk}/")
    assert page.context["form"].initial["pattern"] == "b*"
    response = client.post(f"/p/acme/settings/rules/{b.pk}/", rule_data(auth, pattern="bb*"))
    assert response.status_code == 302
    assert order(project) == ["a*", "bb*", "c*"]
    client.post(f"/p/acme/settings/rules/{a.pk}/delete/")
    assert order(project) == ["bb*", "c*"]
    assert list(CategoryRule.objects.order_by("position").values_list("position", flat=True)) == [
        0,
        1,
    ]


def test_rules_of_another_project_are_404(client, project, admin, auth):
    (foreign,) = make_rules(ProjectFactory(slug="other"), "x*")
    client.force_login(admin)
    assert client.get(f"/p/acme/settings/rules/{foreign.pk}/").status_code == 404
    assert client.post(f"/p/acme/settings/rules/{foreign.pk}/delete/").status_code == 404
    assert (
        client.post(f"/p/acme/settings/rules/{foreign.pk}/move/", {"direction": "up"}).status_code
        == 404
    )
    assert CategoryRule.objects.filter(pk=foreign.pk).exists()


def test_delete_and_move_need_post(client, project, admin):
    (rule,) = make_rules(project, "a*")
    client.force_login(admin)
    assert client.get(f"/p/acme/settings/rules/{rule.pk}/delete/").status_code == 405
    assert client.get(f"/p/acme/settings/rules/{rule.pk}/move/").status_code == 405


def test_preview_endpoint_lists_matches_and_categories(client, project, admin, auth, history):
    client.force_login(admin)
    response = client.post("/p/acme/settings/rules/preview/", rule_data(auth, pattern="auth.*"))
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.matched == 2
    assert {row.test for row in preview.rows} == {"auth.Login::test_ok", "auth.Login::test_bad"}
    assert {row.category for row in preview.rows} == {"Auth"}
    assert dict(preview.totals) == {"Auth": 2, "Uncategorized": 2}
    body = response.content.decode()
    assert "<html" not in body  # a fragment for the page's script
    assert not CategoryRule.objects.exists()


def test_preview_shows_when_an_earlier_rule_wins(client, project, admin, auth, history):
    db = CategoryFactory(project=project, name="Database")
    CategoryRule.objects.create(
        project=project, category=db, field="file", kind="glob", pattern="tests/*"
    )
    client.force_login(admin)
    response = client.post("/p/acme/settings/rules/preview/", rule_data(auth, pattern="auth.*"))
    preview = response.context["preview"]
    assert preview.matched == 2
    assert {(row.category, row.decided_by) for row in preview.rows} == {("Database", "rule 1")}


def test_preview_of_an_edited_rule_takes_its_place(client, project, admin, auth, history):
    db = CategoryFactory(project=project, name="Database")
    rule = CategoryRule.objects.create(
        project=project, category=db, field="file", kind="glob", pattern="tests/*"
    )
    client.force_login(admin)
    data = rule_data(auth, pattern="db.*", rule_id=str(rule.pk))
    preview = client.post("/p/acme/settings/rules/preview/", data).context["preview"]
    assert [(r.test, r.category, r.decided_by) for r in preview.rows] == [
        ("db.Pool::test_open", "Auth", "this rule")
    ]


def test_preview_escapes_test_names(client, project, admin, auth, history):
    client.force_login(admin)
    response = client.post("/p/acme/settings/rules/preview/", rule_data(auth, pattern="<b>*"))
    body = response.content.decode()
    assert response.context["preview"].matched == 1
    assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body


def test_preview_is_capped_with_a_total(project, auth, monkeypatch):
    run = RunFactory(project=project)
    upload = UploadFactory(run=run)
    default = category_uncategorized(project_id=project.pk)
    for i in range(7):
        test = TestFactory(project=project, classname="auth.X", name=f"t{i}")
        Result.objects.create(run=run, test=test, upload=upload, category_id=default, outcome=1)
    monkeypatch.setattr(rule_services, "PREVIEW_SHOWN", 3)
    preview = rule_services.rule_preview(
        project=project, field="classname", kind="glob", pattern="auth.*"
    )
    assert (preview.matched, len(preview.rows)) == (7, 3)


def test_preview_without_js_renders_in_the_page(client, project, admin, auth, history):
    client.force_login(admin)
    response = client.post(
        "/p/acme/settings/rules/", {**rule_data(auth, pattern="db.*"), "preview": "1"}
    )
    assert response.status_code == 200
    assert response.context["preview"].matched == 1
    assert "db.Pool::test_open" in response.content.decode()
    assert not CategoryRule.objects.exists()


def test_preview_stops_at_its_time_budget_and_says_so(
    client, project, admin, auth, history, monkeypatch
):
    monkeypatch.setattr(rule_services, "PREVIEW_SECONDS", -1.0)
    client.force_login(admin)
    response = client.post("/p/acme/settings/rules/preview/", rule_data(auth, pattern="db.*"))
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.timed_out, preview.scanned, preview.matched) == (True, 0, 0)
    assert "The preview stopped after 0 tests" in response.content.decode()


def test_invalid_preview_returns_the_errors(client, project, admin, auth):
    client.force_login(admin)
    response = client.post(
        "/p/acme/settings/rules/preview/", rule_data(auth, kind="regex", pattern="(?=a)b")
    )
    assert response.status_code == 400
    assert "Lookarounds" in response.content.decode()


def test_preview_endpoint_is_admin_only(client, project, auth):
    viewer = get_user_model().objects.create_user("viewer")
    Membership.objects.create(project=project, user=viewer)
    client.force_login(viewer)
    assert client.post("/p/acme/settings/rules/preview/", rule_data(auth)).status_code == 403
    assert client.get("/p/acme/settings/rules/job/").status_code == 403


def test_manual_reapply_creates_a_job(client, project, admin, django_capture_on_commit_callbacks):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/p/acme/settings/rules/recategorize/").status_code == 302
    assert RecategorizeJob.objects.get().status == "done"
    assert Category.objects.filter(project=project, name="Uncategorized").exists()


def test_preview_skips_a_saved_rule_that_does_not_compile(project, auth, history):
    CategoryRule.objects.create(
        project=project, category=auth, field="name", kind="regex", pattern="("
    )
    preview = rule_services.rule_preview(
        project=project, field="classname", kind="glob", pattern="db.*"
    )
    assert preview.matched == 1
