"""Who may change a project's settings: its admins (Membership.role admin), superusers
and users holding ``ingest.change_project`` (``ingest.permissions``); not staff as such.
"""

from django.core.exceptions import PermissionDenied

from dashboard.access import project_can_admin, project_get_visible
from ingest.models import Project


def project_get_admin(*, slug: str, user) -> Project:
    """Return project `slug` if `user` may administer it.

    Raise Http404 when the user may not even see the project (so a private project's
    existence is not revealed) and PermissionDenied (403) when they can see it but are
    not an admin. The caller ensures `user` is signed in.
    """
    project = project_get_visible(slug=slug, user=user)
    if not project_can_admin(user=user, project=project):
        raise PermissionDenied("Only the project's admins can change its settings.")
    return project
