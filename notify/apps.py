from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "notify"
    verbose_name = "Feedback: forges, webhooks and chat"

    def ready(self) -> None:
        from dashboard.lifecycle.events import lifecycle_event
        from ingest import signals
        from notify import receivers

        signals.run_completed.connect(
            receivers.on_run_completed, dispatch_uid="notify.run_completed"
        )
        lifecycle_event.connect(receivers.on_lifecycle_event, dispatch_uid="notify.lifecycle_event")
