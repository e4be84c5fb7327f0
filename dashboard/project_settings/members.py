"""Project members: add by username, change role, remove; a project keeps one admin."""

from django.contrib.auth import get_user_model
from django.db import transaction

from ingest.models import Membership, Project


class MembershipError(ValueError):
    """A membership change that is refused; the message is for people."""


def membership_set(*, project: Project, username: str, role: str) -> Membership:
    """Add user `username` to the project with `role`, or change their role."""
    if role not in Membership.Role.values:
        raise MembershipError("Choose viewer or admin.")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise MembershipError(f"No user is called {username!r}.")
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            project=project, user=user, defaults={"role": role}
        )
        if not created and membership.role != role:
            if role != Membership.Role.ADMIN:
                _keep_an_admin(project, leaving=membership)
            membership.role = role
            membership.save(update_fields=["role"])
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Remove a member; refuse to remove the project's last admin."""
    with transaction.atomic():
        _keep_an_admin(membership.project, leaving=membership)
        membership.delete()


def _keep_an_admin(project: Project, *, leaving: Membership) -> None:
    if leaving.role != Membership.Role.ADMIN:
        return
    admins = (
        Membership.objects.select_for_update()
        .filter(project=project, role=Membership.Role.ADMIN)
        .exclude(pk=leaving.pk)
    )
    if not admins.exists():
        raise MembershipError("A project needs at least one admin.")
