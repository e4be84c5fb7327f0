"""Re-encrypt every stored credential with the first key of PASSLINE_SECRETS_KEY."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from notify.models import ForgeIntegration, Webhook
from notify.secrets import SecretUnreadable, secret_rotate


class Command(BaseCommand):
    help = "Re-encrypt stored forge tokens, webhook URLs and secrets with the current key."

    def handle(self, *args, **options):
        count = 0
        try:
            with transaction.atomic():
                for forge in ForgeIntegration.objects.select_for_update():
                    forge.token_encrypted = secret_rotate(forge.token_encrypted)
                    forge.save(update_fields=["token_encrypted"])
                    count += 1
                for hook in Webhook.objects.select_for_update():
                    hook.url_encrypted = secret_rotate(hook.url_encrypted)
                    hook.secret_encrypted = secret_rotate(hook.secret_encrypted)
                    hook.save(update_fields=["url_encrypted", "secret_encrypted"])
                    count += 1
        except SecretUnreadable as exc:
            raise CommandError(f"{exc}; nothing was changed") from None
        self.stdout.write(f"Re-encrypted the credentials of {count} integrations.")
