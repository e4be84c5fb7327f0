from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "ingest"
    verbose_name = "Ingest"

    def ready(self) -> None:
        # Registers the maintenance tasks and connects the re-categorise progress hooks
        # in every process, web and worker alike.
        from ingest import maintenance_tasks  # noqa: F401
