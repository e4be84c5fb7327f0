"""Formatting shared by the exports: percentages, signed changes, safe cell text."""

import re

# Text a spreadsheet would read as a formula (or a DDE payload) when it starts a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
# Characters no spreadsheet cell may hold (XML 1.0 forbids them in XLSX).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def pct(rate: float | None, digits: int = 1) -> str:
    """Return a fraction 0..1 as a percentage ("84.1%"), or "n/a"."""
    return "n/a" if rate is None else f"{100 * rate:.{digits}f}%"


def signed(value: float | int | None, digits: int = 1) -> str:
    """Return a signed number ("+13.3", "-2", "0"), or "n/a"."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:+d}" if value else "0"
    text = f"{value:+.{digits}f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def cell_text(value: str) -> str:
    """Return text that spreadsheets show as-is: formula prefixes get a leading quote."""
    value = _CONTROL.sub("", value)
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def cell(value):
    """Return a cell value: numbers and booleans unchanged, text neutralised."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return cell_text(str(value))
