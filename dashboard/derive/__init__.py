"""The write side of derived figures: rollups, per-test stats, flags and trends.

Every function here recomputes stored figures from stored rows with set-based SQL
and short transactions, and never takes a lock an upload needs (no row lock on
``Project``; per-project PostgreSQL advisory locks serialise derive work only):

- ``rollups``: runs' RunStats and RunCategoryStats, one INSERT ... SELECT ... GROUP BY
  for a batch of runs.
- ``flags``: the denominator watch of a batch of runs (rules in
  ``dashboard.analytics.denominator``).
- ``teststats``: per-test stats folded in per batch of completed runs, and the hourly
  rebuild in batches of tests.
- ``detect``: flaky signals folded in per batch, the detectors and the lift.
- ``trends``: a project's cached Trend rows, from one read of the window's rollups.
- ``coalesce``: at most one queued and one running trend refresh, or derive pass, per
  project.
- ``backlog``: completed runs waiting for derive, drained per project by coalesced
  passes (figures, then fold).
- ``runs``: what happens after an upload is processed and to a batch of completed runs.
- ``locks``: the advisory locks.

``dashboard.tasks`` are the thin Celery adapters over these services.
"""
