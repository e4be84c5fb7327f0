"""Render the status summary as an XLSX workbook (openpyxl).

Sheets: "Overall" (headline figures and the per-scope table), one per category, and
"Changed tests". Text cells are neutralised so that nothing is read as a formula.
"""

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font

from dashboard.exports.rows import (
    SCOPE_COLUMNS,
    change_rows,
    overview_rows,
    owner_rows,
    scope_rows,
)
from dashboard.exports.text import cell

_SHEET_BAD = re.compile(r"[\[\]:*?/\\']")


def _sheet_title(name: str, taken: set[str]) -> str:
    """Return a valid, unique sheet title (31 characters, no []:*?/\\ or quotes)."""
    base = _SHEET_BAD.sub("_", name).strip() or "Category"
    title = base[:31]
    n = 2
    while title.casefold() in taken:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(title.casefold())
    return title


def _write(sheet, rows: list[list]) -> None:
    for row in rows:
        sheet.append([cell(v) for v in row])
    for c in sheet[1]:
        c.font = Font(bold=True)
    sheet.freeze_panes = "A2"


def summary_xlsx(summary: dict) -> bytes:
    """Return the workbook as bytes."""
    wb = Workbook()
    overall = wb.active
    overall.title = "Overall"
    taken = {"overall", "changed tests"}
    _write(overall, overview_rows(summary))
    overall.append([])
    start = overall.max_row + 1
    for row in scope_rows(summary):
        overall.append([cell(v) for v in row])
    for c in overall[start]:
        c.font = Font(bold=True)
    overall.column_dimensions["A"].width = 38
    overall.column_dimensions["B"].width = 22
    keys = [key for _title, key in SCOPE_COLUMNS[2:]]
    for category in summary["categories"]:
        sheet = wb.create_sheet(_sheet_title(category["name"], taken))
        rows = [["figure", "value"], ["category", category["name"]]]
        rows += [[key, category[key]] for key in keys]
        _write(sheet, rows)
        sheet.column_dimensions["A"].width = 22
    changes = wb.create_sheet("Changed tests")
    _write(changes, change_rows(summary))
    if summary.get("owners"):
        _write(wb.create_sheet(_sheet_title("Owners", taken)), owner_rows(summary))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
