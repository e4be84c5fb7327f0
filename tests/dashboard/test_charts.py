"""Plotly figure dicts built from selector rows."""

import json
from datetime import UTC, datetime, timedelta

import plotly.graph_objects as go
import pytest

from dashboard.pages import charts

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def points(n, passed=3, total=4):
    return [
        {"x": T0 + timedelta(hours=i), "passed": passed, "total": total, "run": f"r{i}"}
        for i in range(n)
    ]


def test_pass_rate_figure_has_series_target_and_projection():
    fig = charts.pass_rate_figure(
        series=[{"name": "Overall", "points": points(3)}, {"name": "Auth", "points": points(3)}],
        target=0.9,
        projection={"x0": T0, "y0": 0.75, "x1": T0 + timedelta(days=10), "y1": 0.9},
    )
    json.dumps(fig)  # JSON-able as is
    overall, auth, trend = fig["data"]
    assert overall["name"] == "Overall" and auth["name"] == "Auth"
    assert overall["y"] == [0.75, 0.75, 0.75]
    assert overall["customdata"][0] == [3, 4, "r0"]
    assert "%{customdata[0]}/%{customdata[1]}" in overall["hovertemplate"]
    assert overall["x"][0] == "2026-01-01T00:00:00+00:00"
    assert trend["line"]["dash"] == "dash" and trend["y"] == [0.75, 0.9]
    assert fig["layout"]["shapes"][0]["y0"] == 0.9
    assert fig["layout"]["annotations"][0]["text"] == "target 90.0%"


def test_pass_rate_figure_downsamples_long_histories():
    fig = charts.pass_rate_figure(series=[{"name": "Overall", "points": points(10_000)}])
    # The guard applies analytics.series' rule: every 21st point (ceil(9999 / 499)), the last.
    assert len(fig["data"][0]["x"]) == 478
    assert fig["data"][0]["customdata"][1][2] == "r21"
    assert fig["data"][0]["customdata"][-1][2] == "r9999"


def test_zero_total_is_a_gap_not_a_zero_rate():
    fig = charts.pass_rate_figure(series=[{"name": "Overall", "points": points(2, 0, 0)}])
    assert fig["data"][0]["y"] == [None, None]


def test_names_and_run_keys_are_html_escaped_for_plotly():
    series = [{"name": "<b>x</b>", "points": [{**points(1)[0], "run": "<script>"}]}]
    fig = charts.pass_rate_figure(series=series)
    assert fig["data"][0]["name"] == "&lt;b&gt;x&lt;/b&gt;"
    assert fig["data"][0]["customdata"][0][2] == "&lt;script&gt;"
    assert "<b>x</b>" not in json.dumps(fig)


def test_waterfall_follows_the_identity():
    fig = charts.waterfall_figure(
        base_passed=523, fixed=110, regressed=12, added_passing=3, removed_passing=3,
        head_passed=621, base_label="<base>",
    )  # fmt: skip
    bar = fig["data"][0]
    assert bar["type"] == "waterfall"
    assert bar["y"] == [523, 110, -12, 3, -3, 621]
    assert bar["measure"][0] == "absolute" and bar["measure"][-1] == "total"
    assert bar["x"][0] == "&lt;base&gt; passed"
    assert bar["text"][2] == "-12"


def test_duration_figure():
    fig = charts.duration_figure(points=[{"x": T0, "duration": 1.5, "run": "r1"}])
    assert fig["data"][0]["y"] == [1.5]
    assert fig["layout"]["yaxis"]["title"]["text"] == "seconds"


def test_styles_are_validated_by_graph_objects():
    with pytest.raises(ValueError):
        charts._valid("scatter", {"nmae": "typo"})
    fig = charts.pass_rate_figure(series=[{"name": "Overall", "points": points(2)}], target=0.5)
    go.Figure(fig)  # the whole figure is a valid plotly figure


def test_figure_script_cannot_be_closed_by_data():
    from dashboard.templatetags.passline import figure_script

    html = figure_script({"name": "</script><script>alert(1)</script>&"}, "fig")
    assert html.startswith('<script id="fig" type="application/json">')
    assert html.count("</script>") == 1
    inner = html.removeprefix('<script id="fig" type="application/json">').removesuffix("</script>")
    assert json.loads(inner) == {"name": "</script><script>alert(1)</script>&"}
