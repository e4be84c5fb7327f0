"""Decide who may see which project.

Public projects are readable by anyone, signed in or not. A private project is readable
by its members (``ingest.models.Membership``, any role), by superusers and by users who
hold ``ingest.view_project`` or ``ingest.change_project`` (``ingest.permissions``);
being staff alone is not enough. Everyone else gets a 404 rather than a 403, so the
existence of a private project is not revealed.
"""

from django.db.models import Q, QuerySet
from django.http import Http404

from ingest.models import Membership, Project
from ingest.permissions import user_administers_every_project, user_reads_every_project


def project_list_visible(*, user) -> QuerySet[Project]:
    """Return the projects `user` may read (anonymous users see public ones only)."""
    projects = Project.objects.all()
    if not getattr(user, "is_authenticated", False):
        return projects.filter(is_public=True)
    if user_reads_every_project(user):
        return projects
    # A subquery rather than a join keeps one row per project without DISTINCT.
    member_of = Membership.objects.filter(user=user).values("project_id")
    return projects.filter(Q(is_public=True) | Q(pk__in=member_of))


def project_get_visible(*, slug: str, user) -> Project:
    """Return the project `slug` if `user` may read it; raise Http404 otherwise (1 query)."""
    project = (
        project_list_visible(user=user).select_related("baseline_run").filter(slug=slug).first()
    )
    if project is None:
        raise Http404("No such project.")
    return project


def project_can_admin(*, user, project: Project) -> bool:
    """Return whether `user` may change the project's settings (no query when anonymous)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user_administers_every_project(user):
        return True
    return Membership.objects.filter(
        project=project, user=user, role=Membership.Role.ADMIN
    ).exists()
