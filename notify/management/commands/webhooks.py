"""List a project's webhooks with their last delivery: ``manage.py webhooks <slug>``."""

from django.core.management.base import BaseCommand

from notify.management.commands._common import project_get
from notify.selectors import last_delivery_by_webhook, webhook_list


class Command(BaseCommand):
    help = "List a project's webhooks and the last delivery of each."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The project's slug.")

    def handle(self, *args, slug, **options):
        project = project_get(slug)
        hooks = list(webhook_list(project=project))
        if not hooks:
            self.stdout.write(f"{slug} has no webhooks.")
            return
        last = last_delivery_by_webhook(project=project)
        self.stdout.write("ID\tKIND\tHOST\tEVENTS\tSTATE\tLAST DELIVERY")
        for hook in hooks:
            state = "active" if hook.is_active else f"disabled ({hook.disabled_reason})"
            d = last.get(hook.pk)
            when = (
                f"{d.created_at:%Y-%m-%d %H:%M} {d.event} "
                + (f"run {d.run.key}" if d.run else d.detail)
                + f": {d.status}"
                + (f" (HTTP {d.last_status_code})" if d.last_status_code else "")
                if d
                else "never"
            )
            self.stdout.write(
                f"{hook.pk}\t{hook.kind}\t{hook.url_display}\t{','.join(hook.events)}\t"
                f"{state}\t{when}"
            )
