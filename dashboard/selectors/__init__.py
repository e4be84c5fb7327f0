"""Read-only selectors: read rollups and feed ``dashboard.analytics``.

Pages (``dashboard.pages``), the JSON API (``dashboard.api``) and the exports
(``dashboard.exports``) call these and nothing else for figures. Rollups are
``RunStats``, ``RunCategoryStats``, ``Trend`` and ``TestStats``; only a run's page,
a test's page and a comparison read results, of one run, one test or one run pair.
Rates are fractions 0..1; timestamps are timezone-aware UTC datetimes, except in the
dicts that are the JSON API's bodies (ISO 8601 strings ending in "Z").

- ``summary``: ``project_summary_get`` (the summary API body, the overview's and
  category pages' figures), ``run_pair_summary_get`` (the same figures for any two
  runs: the exports and the report), ``projects_headline_list`` (the project list,
  constant queries), ``latest_stats_get``, ``baseline_stats_get``.
- ``runs``: ``run_list``, ``run_get``, ``run_detail_get``, ``previous_complete_run``,
  ``compare_default_runs``, ``category_get``, ``recent_run_keys``, ``branch_list``,
  ``flagged_runs_list``.
- ``series``: ``pass_rate_series_get`` (charts, downsampled in the database by
  ``analytics.series``'s rule), ``sparklines_get``, ``trend_projection_get``.
- ``compare``: ``runs_compare`` (what changed between two runs).
- ``tests``: ``test_get``, ``test_history_get``, ``failing_tests_list``,
  ``slowest_results_list``.
- ``flaky_page``: the one flake rate (``history_counts`` of the detectors' window):
  ``flaky_page_list`` (the flaky page), ``category_flaky_list`` (a category page's
  flaky tests, candidates read from indexes), ``test_flake_get`` (the test page).
"""
