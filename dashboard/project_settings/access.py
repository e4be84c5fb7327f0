"""Who may change a project's settings: its admins (Membership.role admin), superusers
and users holding ``ingest.change_project`` (``ingest.permissions``); not staff as such.
"""

from django.core.exceptions import PermissionDenied

from dashboard.access import project_get_visible
from ingest.models import Membership, Project
from ingest.permissions import user_administers_every_project


def project_get_admin(*, slug: str, user) -> Project:
    """Return project `slug` if `user` may administer it.

    Raise Http404 when the user may not even see the project (so a private project's
    existence is not revealed) and PermissionDenied (403) when they can see it but are
    not an admin. The caller ensures `user` is signed in.
    """
    project = project_get_visible(slug=slug, user=user)
    if user_administers_every_project(user):
        return project
    if not Membership.objects.filter(
        project=project, user=user, role=Membership.Role.ADMIN
    ).exists():
        raise PermissionDenied("Only the project's admins can change its settings.")
    return project
