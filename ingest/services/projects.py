"""Create projects."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction

from ingest.models import Project
from ingest.percent import percent_to_bp


def target_percent_to_bp(percent: Decimal | int | str) -> int:
    """Return a target in percent as basis points (``ingest.percent.percent_to_bp``).

    Raise ValidationError when it is not a number, outside 0..100 or finer than 0.01 %.
    """
    try:
        return percent_to_bp(percent)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def project_create(
    *,
    slug: str,
    name: str,
    target_percent: Decimal | None = None,
    default_branch: str = "main",
    is_public: bool = False,
) -> Project:
    """Create a project; the target defaults to the model's (90 %).

    Raise ValidationError for a bad slug or target, an empty name or a taken slug.
    """
    validate_slug(slug)
    if len(slug) > Project._meta.get_field("slug").max_length:
        raise ValidationError(f"the slug {slug!r} is longer than 64 characters")
    if not name.strip():
        raise ValidationError("the project needs a name")
    if not default_branch.strip():
        raise ValidationError("the default branch cannot be empty")
    fields = {"slug": slug, "name": name.strip(), "default_branch": default_branch.strip()}
    fields["is_public"] = is_public
    if target_percent is not None:
        fields["target_bp"] = target_percent_to_bp(target_percent)
    try:
        with transaction.atomic():
            return Project.objects.create(**fields)
    except IntegrityError:
        raise ValidationError(f"a project with slug {slug!r} already exists") from None
