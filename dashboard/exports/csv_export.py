"""Render the status summary as CSV: scopes, changed tests, owners (blank rows between)."""

import csv
import io

from dashboard.exports.rows import change_rows, owner_rows, scope_rows
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
    if summary.get("owners"):
        writer.writerow([])
        for row in owner_rows(summary):
            writer.writerow([cell(v) for v in row])
    return out.getvalue()
