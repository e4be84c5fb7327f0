from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from dashboard import receivers
        from ingest import signals

        signals.upload_processed.connect(
            receivers.on_upload_processed, dispatch_uid="dashboard.upload_processed"
        )
        signals.run_completed.connect(
            receivers.on_run_completed, dispatch_uid="dashboard.run_completed"
        )
        signals.project_recategorized.connect(
            receivers.on_project_recategorized, dispatch_uid="dashboard.project_recategorized"
        )
