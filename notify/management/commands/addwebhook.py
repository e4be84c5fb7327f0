"""Add a webhook: ``manage.py addwebhook <slug> <url> --kind generic --events e1,e2``.

Prints the webhook's id alone on the last line. A generic webhook's signing secret is
read from an environment variable (``--secret-env``), never from the command line.
"""

from django.core.management.base import BaseCommand, CommandError

from notify.management.commands._common import credential_read, project_get
from notify.models import EVENTS, Webhook
from notify.services import InvalidIntegration, webhook_create


class Command(BaseCommand):
    help = "Add a generic, Slack or Teams webhook to a project; prints its id."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The project's slug.")
        parser.add_argument("url", help="Where to POST (Slack and Teams: the URL they gave you).")
        parser.add_argument("--kind", required=True, choices=Webhook.Kind.values)
        parser.add_argument(
            "--events", required=True, help=f"Comma-separated: {', '.join(EVENTS)}."
        )
        parser.add_argument("--secret-env", help="Environment variable holding the HMAC secret.")

    def handle(self, *args, slug, url, kind, events, secret_env, **options):
        project = project_get(slug)
        secret = credential_read(file=None, env=secret_env, what="secret") if secret_env else ""
        try:
            webhook = webhook_create(
                project=project, kind=kind, url=url, events=events.split(","), secret=secret
            )
        except InvalidIntegration as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Added {webhook.get_kind_display()} webhook to {webhook.url_display} for "
            f"{', '.join(webhook.events)}" + (" (signed)" if secret else "") + "."
        )
        self.stdout.write(str(webhook.pk))
