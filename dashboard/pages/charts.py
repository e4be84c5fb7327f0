"""Turn selector rows into Plotly figures (plain JSON-able dicts) for the pages.

Figures are built with ``plotly.graph_objects`` and returned as dicts that the
templates embed with ``json_script`` and plotly.js draws. Every user-provided string
(category names, run keys, test names) is HTML-escaped here because plotly.js renders
a subset of HTML in names and hover text; it decodes the entities back to text, so a
name like ``<b>x</b>`` shows literally instead of being interpreted.

Pass rates are fractions in [0, 1]; timestamps are UTC datetimes or ISO strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from html import escape
from typing import Any

import plotly.graph_objects as go

from dashboard.analytics.series import downsample

# A guard: selectors already downsample (``analytics.series``); a chart never embeds
# more points than this.
MAX_POINTS = 500
SERIES_COLOURS = [
    "#1f5fa8", "#c2410c", "#15803d", "#7c3aed", "#b91c1c",
    "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#475569",
]  # fmt: skip
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}
CONFIG = {"responsive": True, "displaylogo": False, "modeBarButtonsToRemove": ["lasso2d"]}


@lru_cache(maxsize=1024)
def _validated(kind: str, spec: str) -> str:
    # graph_objects checks every property name and value (raising on a typo) and fills
    # in "type"; the result is cached because the same styles recur on every request
    # and plotly's validation costs milliseconds per object.
    obj = {"layout": go.Layout, "scatter": go.Scatter, "waterfall": go.Waterfall}[kind](
        json.loads(spec)
    )
    return json.dumps(obj.to_plotly_json())


def _valid(kind: str, spec: dict) -> dict:
    """Return `spec` validated by plotly.graph_objects as a fresh plain dict."""
    return json.loads(_validated(kind, json.dumps(spec, sort_keys=True, default=str)))


def _figure(traces: Sequence[tuple[str, dict, dict]], layout: dict) -> dict:
    """Build a figure dict from (kind, style, data arrays) traces and a layout.

    Styles and layout go through graph_objects; the data arrays (plain lists of numbers
    and ISO strings) are attached afterwards, because plotly validates arrays element
    by element (~20 ms per 500-point trace).
    """
    return {
        "data": [{**_valid(kind, style), **arrays} for kind, style, arrays in traces],
        "layout": _valid("layout", layout),
    }


def _iso(x: Any) -> Any:
    return x.isoformat() if hasattr(x, "isoformat") else x


def _base_layout(*, yaxis: dict, height: int = 380, **extra) -> dict:
    return {
        "font": FONT,
        "height": height,
        "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "xaxis": {"gridcolor": "#e5e7eb", "automargin": True},
        "yaxis": {"gridcolor": "#e5e7eb", "automargin": True, **yaxis},
        **extra,
    }


def pass_rate_figure(
    *,
    series: Sequence[dict],
    target: float | None = None,
    projection: dict | None = None,
    max_points: int = MAX_POINTS,
    height: int = 380,
) -> dict:
    """Build the pass-rate-over-time chart.

    `series`: ``[{"name": str, "points": [{"x": datetime, "passed": int, "total": int,
    "run": str}, ...]}, ...]`` oldest first; the first series is drawn thicker (overall).
    `target`: fraction drawn as a horizontal line. `projection`: ``{"x0", "y0", "x1",
    "y1"}`` drawn as a dashed trend line (to the ETA, or to the right edge when there is
    no ETA). A series longer than `max_points` is downsampled by ``analytics.series``.
    """
    traces = []
    # Category series share their runs with the overall series: format each run's
    # time and key once.
    iso: dict[Any, str] = {}
    keys: dict[Any, str] = {}
    for i, s in enumerate(series):
        pts = downsample(list(s.get("points") or []), max_points)
        name = escape(str(s["name"]))
        for p in pts:
            if p["x"] not in iso:
                iso[p["x"]] = _iso(p["x"])
            if p["run"] not in keys:
                keys[p["run"]] = escape(str(p["run"]))
        style = {
            "hovertemplate": (
                "%{y:.1%} — %{customdata[0]}/%{customdata[1]} passed"
                "<br>run %{customdata[2]}<br>%{x}<extra>" + name + "</extra>"
            ),
            "mode": "lines+markers" if len(pts) <= 60 else "lines",
            "name": name,
            "line": {"width": 3 if i == 0 else 1.5, "color": SERIES_COLOURS[i % 10]},
            "marker": {"size": 5},
            "connectgaps": False,
        }
        arrays = {
            "x": [iso[p["x"]] for p in pts],
            "y": [round(p["passed"] / p["total"], 4) if p["total"] else None for p in pts],
            "customdata": [[p["passed"], p["total"], keys[p["run"]]] for p in pts],
        }
        traces.append(("scatter", style, arrays))
    if projection:
        style = {
            "mode": "lines",
            "name": "trend projection",
            "line": {"dash": "dash", "width": 2, "color": "#334155"},
            "hovertemplate": "trend %{y:.1%} at %{x}<extra></extra>",
        }
        arrays = {
            "x": [_iso(projection["x0"]), _iso(projection["x1"])],
            "y": [round(projection["y0"], 4), round(projection["y1"], 4)],
        }
        traces.append(("scatter", style, arrays))
    layout = _base_layout(yaxis={"tickformat": ".0%", "rangemode": "tozero"}, height=height)
    if target is not None:
        layout["shapes"] = [
            {
                "type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                "y0": target, "y1": target,
                "line": {"color": "#b91c1c", "width": 1.5, "dash": "dot"},
            }
        ]  # fmt: skip
        layout["annotations"] = [
            {
                "xref": "paper", "x": 0, "xanchor": "left", "yref": "y", "y": target,
                "yanchor": "bottom", "text": f"target {target * 100:.1f}%",
                "showarrow": False, "font": {"color": "#b91c1c"},
            }
        ]  # fmt: skip
    return _figure(traces, layout)


def waterfall_figure(
    *,
    base_passed: int,
    fixed: int,
    regressed: int,
    added_passing: int,
    removed_passing: int,
    head_passed: int,
    base_label: str = "baseline",
    head_label: str = "now",
) -> dict:
    """Build the "where did the change come from" waterfall of passing tests.

    The bars follow base passed + fixed - regressed + added passing - removed passing,
    and the last bar is `head_passed` as reported (equal to the sum when the data is
    consistent; the compare selector checks that identity).
    """
    labels = [
        f"{escape(base_label)} passed",
        "fixed",
        "regressed",
        "added passing",
        "removed passing",
        f"{escape(head_label)} passed",
    ]
    values = [base_passed, fixed, -regressed, added_passing, -removed_passing, head_passed]
    style = {
        "measure": ["absolute", "relative", "relative", "relative", "relative", "total"],
        "textposition": "outside",
        "increasing": {"marker": {"color": "#15803d"}},
        "decreasing": {"marker": {"color": "#b91c1c"}},
        "totals": {"marker": {"color": "#1f5fa8"}},
        "connector": {"line": {"color": "#94a3b8"}},
        "hovertemplate": "%{x}: %{text}<extra></extra>",
    }
    arrays = {
        "x": labels,
        "y": values,
        "text": [f"{v:+d}" if 0 < i < 5 else f"{v:d}" for i, v in enumerate(values)],
    }
    # The axis starts at 0: a truncated axis would exaggerate the change.
    layout = _base_layout(
        yaxis={"title": {"text": "passing tests"}, "rangemode": "tozero"},
        height=340,
        showlegend=False,
    )
    return _figure([("waterfall", style, arrays)], layout)


def duration_figure(*, points: Sequence[dict], max_points: int = MAX_POINTS) -> dict:
    """Build a test's duration-over-time chart from ``[{"x", "duration", "run"}]`` (seconds)."""
    pts = downsample(list(points), max_points)
    style = {
        "mode": "lines+markers",
        "name": "duration",
        "line": {"color": SERIES_COLOURS[0]},
        "hovertemplate": "%{y:.3f} s<br>run %{customdata}<extra></extra>",
    }
    arrays = {
        "x": [_iso(p["x"]) for p in pts],
        "y": [p["duration"] for p in pts],
        "customdata": [escape(str(p["run"])) for p in pts],
    }
    layout = _base_layout(yaxis={"title": {"text": "seconds"}, "rangemode": "tozero"}, height=280)
    return _figure([("scatter", style, arrays)], layout)
