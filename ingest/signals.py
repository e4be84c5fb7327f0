"""Signals that let other apps react to ingest without ingest importing them.

Receivers only enqueue work (with ``transaction.on_commit``); they hold no logic.
"""

from django.dispatch import Signal

# Sent after an upload's results are committed. kwargs: upload_id, run_id, project_id,
# run_completed (True when this upload completed its run: run_completed follows).
upload_processed = Signal()
# Sent when a run becomes complete (final part, or quiet period). kwargs: run_id, project_id.
run_completed = Signal()
# Sent after results of a project were re-categorised (rules changed). kwargs: project_id.
project_recategorized = Signal()
