"""The one downsampling rule of the pass-rate charts.

A chart of 10,000 runs keeps every ``step``-th run (counting from the first) and the
last one, where ``step = ceil((n - 1) / (max_points - 1))``: at most ``max_points``
evenly spaced runs, always the first and the latest figure, and the same runs in
every series of a chart. ``dashboard.selectors.series`` applies this rule inside the
database (a window row number) so long histories are never fetched; a test checks the
two agree.
"""


def downsample_step(*, n: int, max_points: int) -> int:
    """Return the step between kept points for ``n`` points and ``max_points`` (>= 1)."""
    last = max(max_points - 1, 1)
    return max(1, -(-(n - 1) // last))


def downsample(points: list, max_points: int) -> list:
    """Return the points kept by the rule above, in their order."""
    n = len(points)
    step = downsample_step(n=n, max_points=max_points)
    return [p for i, p in enumerate(points) if i % step == 0 or i == n - 1]
