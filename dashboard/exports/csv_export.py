"""Render the status summary as CSV: the scope table, a blank row, the changed tests."""

import csv
import io

from dashboard.exports.rows import change_rows, scope_rows
from dashboard.exports.text import cell


def summary_csv(summary: dict) -> str:
    """Return the CSV text; text cells that look like formulas are neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in scope_rows(summary):
        writer.writerow([cell(v) for v in row])
    writer.writerow([])
    for row in change_rows(summary):
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
