"""Shared helpers of the result store tests."""

from ingest.result_store import ResultWriter


def writer_for(upload, *, forced: bool = False, **options) -> ResultWriter:
    """Return a ResultWriter for `upload`; `options` go to ResultWriter (chunk sizes…)."""
    return ResultWriter(
        project_id=upload.project_id,
        run_id=upload.run_id,
        upload_id=upload.pk,
        category_forced=forced,
        **options,
    )
