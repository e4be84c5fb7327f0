"""The Django admin's category rules re-categorise like the settings page: through a job."""

import pytest
from django.contrib.auth import get_user_model

from ingest.models import CategoryRule, RecategorizeJob
from tests.factories import CategoryFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_saving_a_rule_in_the_admin_records_and_runs_a_job(
    client, django_capture_on_commit_callbacks
):
    project = ProjectFactory()
    category = CategoryFactory(project=project, name="Auth")
    admin = get_user_model().objects.create_superuser("root", password="pw-1234567890")
    client.force_login(admin)
    data = {
        "project": project.pk,
        "position": 0,
        "field": "classname",
        "kind": "glob",
        "pattern": "auth.*",
        "category": category.pk,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/ingest/categoryrule/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert CategoryRule.objects.filter(project=project).count() == 1
    job = RecategorizeJob.objects.get(project=project)
    # Celery runs eagerly in tests: the task ran and its signals settled the job.
    assert (job.status, job.created_by, job.published_at is not None) == ("done", admin, True)
