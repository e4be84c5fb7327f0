"""Tabular views of the status summary shared by the CSV and XLSX exports."""

SCOPE_COLUMNS = (
    ("scope", "scope"),
    ("name", "name"),
    ("passed_before", "base_passed"),
    ("total_before", "base_total"),
    ("rate_before", "rate_before"),
    ("passed_now", "head_passed"),
    ("total_now", "head_total"),
    ("rate_now", "rate_after"),
    ("change_points", "change_points"),
    ("delta_passed", "delta_passed"),
    ("fixed", "fixed"),
    ("regressed", "regressed"),
    ("added_passing", "added_passing"),
    ("added_not_passing", "added_not_passing"),
    ("removed_passing", "removed_passing"),
    ("removed_not_passing", "removed_not_passing"),
    ("newly_skipped", "newly_skipped"),
    ("flaky", "flaky"),
    ("not_passing", "not_passing"),
    ("target", "target"),
    ("tests_needed", "tests_needed"),
    ("progress", "progress"),
    ("target_reached", "target_reached"),
)
CHANGE_COLUMNS = ("change", "category", "classname", "name", "before", "now")


def _round(key: str, value):
    """Round fractions to 4 decimals and points to 2: beyond that is float noise."""
    if isinstance(value, float):
        return round(value, 2 if key == "change_points" else 4)
    return value


def scope_rows(summary: dict) -> list[list]:
    """Return the header and one row per scope: overall, then each category."""
    header = [title for title, _key in SCOPE_COLUMNS]
    rows = [header]
    scopes = [("overall", "all tests", summary["overall"])]
    scopes += [
        ("category" if c["listed"] else "category (no listed)", c["name"], c)
        for c in summary["categories"]
    ]
    for scope, name, figures in scopes:
        values = {"scope": scope, "name": name, **figures}
        rows.append([_round(key, values.get(key)) for _title, key in SCOPE_COLUMNS])
    return rows


def change_rows(summary: dict) -> list[list]:
    """Return the header and one row per changed test."""
    rows: list[list] = [list(CHANGE_COLUMNS)]
    for ch in summary["changes"]:
        rows.append(
            [
                ch["change"],
                ch["category"],
                ch["classname"],
                ch["name"],
                ch["base_outcome"] or "",
                ch["head_outcome"] or "",
            ]
        )
    return rows


OWNER_COLUMNS = ("owner", "not_passing", "new_failures", "flaky", "quarantined")


def owner_rows(summary: dict) -> list[list]:
    """Return the header and one row per owner: counts, then the new failures' names."""
    rows: list[list] = [[*OWNER_COLUMNS, "new_failure_tests"]]
    for s in summary.get("owners") or []:
        names = "; ".join(
            f"{t['classname']}::{t['name']}" if t["classname"] else t["name"]
            for t in s["new_failure_tests"]
        )
        rows.append([*(s[k] for k in OWNER_COLUMNS), names])
    return rows


def overview_rows(summary: dict) -> list[list]:
    """Return (figure, value) rows of the headline figures and the change's sources."""
    o, base, head = summary["overall"], summary["base"], summary["head"]
    trend = summary["trend"]
    listed, rest = summary["sources"]["listed"], summary["sources"]["rest"]
    return [
        ["figure", "value"],
        ["project", summary["project"]["name"]],
        ["base run", base["run"]],
        ["base started at (UTC)", base["started_at"]],
        ["head run", head["run"]],
        ["head started at (UTC)", head["started_at"]],
        ["target", summary["target"]],
        ["pass rate before", o["rate_before"]],
        ["passed before", o["base_passed"]],
        ["total before", o["base_total"]],
        ["pass rate now", o["rate_after"]],
        ["passed now", o["head_passed"]],
        ["total now", o["head_total"]],
        ["change (points)", o["change_points"]],
        ["fixed", o["fixed"]],
        ["regressed", o["regressed"]],
        ["added (passing)", o["added_passing"]],
        ["added (not passing)", o["added_not_passing"]],
        ["removed (passing)", o["removed_passing"]],
        ["removed (not passing)", o["removed_not_passing"]],
        ["newly skipped", o["newly_skipped"]],
        ["flaky in head run", o["flaky"]],
        ["not passing now", o["not_passing"]],
        ["quarantined tests", summary["quarantined"]],
        ["tests needed", o["tests_needed"]],
        ["progress", o["progress"]],
        ["target reached", o["target_reached"]],
        ["trend (points per week)", None if trend["per_week"] is None else 100 * trend["per_week"]],
        ["ETA", trend["eta"] or ("" if o["target_reached"] else "not on track")],
        ["on track", trend["on_track"]],
        ["flags", "; ".join(base["flags"] + head["flags"]) or "none"],
        ["change from listed categories", listed["delta_passed"]],
        ["tests in listed categories", listed["tests"]],
        ["change from tests in no listed category", rest["delta_passed"]],
        ["tests in no listed category", rest["tests"]],
    ]
