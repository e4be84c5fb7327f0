"""Who may read or administer every project, beyond their own memberships.

Being staff (``is_staff``) only lets a user into the Django admin, where the model
permissions they hold apply; it grants nothing on the dashboard or the API by itself.
Across projects, access comes from superuser status or from one of these permissions,
given to a user or a group in the admin (``ingest.models.Membership`` gives it per
project):

- ``ingest.view_project``: read every project, public or private (pages, exports, API).
- ``ingest.change_project``: administer every project (settings, rules, tokens,
  members); it includes reading them.

Permission checks cost two queries per request for a signed-in user who is not a
superuser (Django caches them on the user object); anonymous users cost none.
"""

READ_EVERY_PROJECT = "ingest.view_project"
ADMINISTER_EVERY_PROJECT = "ingest.change_project"


def user_reads_every_project(user) -> bool:
    """Return whether `user` may read every project (False for anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.has_perm(READ_EVERY_PROJECT) or user.has_perm(ADMINISTER_EVERY_PROJECT)


def user_administers_every_project(user) -> bool:
    """Return whether `user` may change every project's settings (False when anonymous)."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(
        ADMINISTER_EVERY_PROJECT
    )
