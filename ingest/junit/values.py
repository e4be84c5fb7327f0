"""Parse the loosely formatted attribute values found in real JUnit reports."""

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ingest.identity import normalise_name

ELLIPSIS = "…"
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_EPOCH = re.compile(r"\d+(?:\.\d+)?")
# Timestamps before this are placeholders of golden files (year 0001, the epoch itself).
_EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)


def parse_duration(value: str | None) -> tuple[float, str | None]:
    """Return (seconds, problem) for a testcase `time` attribute.

    Accept plain decimals, exponents, "0.", comma decimals ("0,288"), thousands
    separators ("2,503.1") and a trailing "s". Anything else, negative or non-finite
    values become 0.0 with a short problem text; `problem` is None when the value was fine.
    """
    if value is None:
        return 0.0, "missing"
    try:
        seconds = float(value)
    except ValueError:
        text = value.strip().removesuffix("s").strip()
        if not text:
            return 0.0, "missing"
        if "," in text:
            # One comma and no dot is a decimal comma; otherwise commas group thousands.
            if "." in text or text.count(",") > 1:
                text = text.replace(",", "")
            else:
                text = text.replace(",", ".")
        if not _NUMBER.fullmatch(text):
            return 0.0, f"{value[:40]!r} is not a number"
        seconds = float(text)
    if not math.isfinite(seconds):
        return 0.0, f"{value[:40]!r} is not finite"
    if seconds < 0:
        return 0.0, f"{value[:40]!r} is negative"
    return seconds, None


def parse_timestamp(value: str | None) -> datetime | None:
    """Return a report timestamp as an aware UTC datetime, or None when unknown.

    Accept ISO 8601 (with or without fraction, "Z" or offset; naive means UTC), a
    trailing " UTC"/" GMT", RFC 1123 and similar email dates, and epoch seconds or
    milliseconds. Placeholders, year 0001 and the epoch itself are unknown.
    """
    if not value:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        if _EPOCH.fullmatch(text):
            number = float(text)
            if number > 1e11:  # milliseconds
                number /= 1000
            moment = datetime.fromtimestamp(number, UTC)
        else:
            moment = _parse_calendar(text)
            if moment is None:
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            moment = moment.astimezone(UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment if moment >= _EARLIEST else None


def _parse_calendar(text: str) -> datetime | None:
    iso = text
    for suffix in (" UTC", " GMT"):
        if iso.endswith(suffix):
            iso = iso[: -len(suffix)] + "+00:00"
            break
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def clean_name(value: str | None, limit: int) -> tuple[str, bool]:
    """Return (normalised name, truncated?) with at most `limit` characters.

    Normalisation is ingest.identity.normalise_name; a truncated name ends with "…".
    """
    if not value:
        return "", False
    if len(value) > 4 * limit + 16:
        # Normalise only a bounded prefix of a huge value; it is truncated either way.
        value = normalise_name(value[: 4 * limit + 16])
        return value[: limit - 1] + ELLIPSIS, True
    # Fast path, equivalent to normalise_name: NFC is the identity on ASCII, and a
    # printable ASCII string without double or outer spaces has nothing to collapse.
    if not (
        value.isascii()
        and value.isprintable()
        and "  " not in value
        and value[0] != " "
        and value[-1] != " "
    ):
        value = normalise_name(value)
    if len(value) > limit:
        return value[: limit - 1] + ELLIPSIS, True
    return value, False


def clip(text: str, limit: int) -> str:
    """Return `text` cut to at most `limit` characters, ending with "…" when cut."""
    if len(text) > limit:
        return text[: limit - 1] + ELLIPSIS
    return text


class Warnings:
    """Collect deduplicated warnings: one entry per kind with a count, at most `cap` kinds."""

    def __init__(self, cap: int = 50) -> None:
        self._cap = cap
        self._first: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._dropped = 0

    def add(self, kind: str, text: str) -> None:
        if kind in self._counts:
            self._counts[kind] += 1
        elif len(self._counts) < self._cap:
            self._first[kind] = text
            self._counts[kind] = 1
        else:
            self._dropped += 1

    def as_list(self) -> list[str]:
        out = []
        for kind, text in self._first.items():
            more = self._counts[kind] - 1
            out.append(f"{text} (and {more} more like it)" if more else text)
        if self._dropped:
            out.append(f"{self._dropped} further warnings not listed")
        return out
