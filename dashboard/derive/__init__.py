"""The write side of derived figures: rollups, per-test stats, flags and trends.

Every function here recomputes stored figures from stored rows with set-based SQL
and short transactions, and never takes a lock an upload needs (no row lock on
``Project``; per-project PostgreSQL advisory locks serialise derive work only):

- ``rollups``: a run's RunStats and RunCategoryStats, one INSERT ... SELECT ... GROUP BY.
- ``flags``: the denominator watch of a run (rules in ``dashboard.analytics.denominator``).
- ``teststats``: per-test stats folded in per completed run, and the hourly rebuild in
  batches of tests.
- ``trends``: a project's cached Trend rows, from one read of the window's rollups.
- ``coalesce``: at most one queued and one running trend refresh per project.
- ``runs``: what happens after an upload is processed and after a run completes.
- ``locks``: the advisory locks.

``dashboard.tasks`` are the thin Celery adapters over these services.
"""
