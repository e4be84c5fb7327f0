"""Revoke an API token: ``manage.py revoketoken pl_u_AbCd1234``."""

from django.core.management.base import BaseCommand, CommandError

from ingest.models import ApiToken
from ingest.services.tokens import token_revoke
from ingest.tokens import token_parse


class Command(BaseCommand):
    help = "Revoke an API token by its prefix (shown at creation and in the admin)."

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="The token's prefix, e.g. pl_u_AbCd1234 (or the token).")

    def handle(self, *args, prefix, **options):
        prefix = prefix.strip().rstrip("…")
        # Accept the whole token too: people paste what they have.
        parsed = token_parse(prefix)
        if parsed is not None:
            prefix = parsed[0]
        try:
            token = token_revoke(prefix=prefix)
        except ApiToken.DoesNotExist:
            raise CommandError(f"No token with prefix {prefix!r}.") from None
        self.stdout.write(
            f"Revoked {token.scope} token {token.prefix}… of project {token.project.slug} "
            f"(at {token.revoked_at:%Y-%m-%d %H:%M} UTC)."
        )
