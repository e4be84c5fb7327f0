"""Pure analytics: every figure passline shows is computed by one function here.

No Django, no ORM: plain values in, plain values out (``tests/test_architecture.py``
enforces it). Selectors (``dashboard.selectors``) read the rollups and feed these
functions; pages, the JSON API, the exports and the report show what they return.

- ``outcomes``: what counts as passing (``is_passing``).
- ``targets``: effective target (project vs category), tests needed, target reached,
  progress from the baseline; exact integer / ``Fraction`` arithmetic in basis points.
- ``figures``: the figures of one scope (overall or a category) built from the above.
- ``trends``: Theil-Sen fit, ETA, on track, rate needed per week, trend projection.
- ``series``: the one downsampling rule of the pass-rate charts.
- ``regressions``: "failing since" streaks.
- ``flaky``: flake rate.
- ``compare``: what changed between two runs and the identity
  delta passed = fixed - regressed + added passing - removed passing.
"""
