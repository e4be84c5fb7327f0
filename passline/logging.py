"""Log formatters that carry context such as upload and run ids.

Pass context with ``extra=``: ``logger.info("upload processed", extra={"upload_id": 7,
"run_id": 3})``. ``LOG_FORMAT=json`` selects one JSON object per line; the default is
``key=value`` pairs, readable by people and by log tools such as Loki or Splunk.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
) | {"message", "asctime", "taskName"}


def record_context(record: logging.LogRecord) -> dict[str, Any]:
    """Return the ``extra=`` fields of ``record``, in the order they were given."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _RECORD_ATTRS and not key.startswith("_")
    }


def _timestamp(record: logging.LogRecord) -> str:
    """Return the record time as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


# Line breaks JSON leaves raw with ensure_ascii=False; some log viewers split on them.
_UNICODE_BREAKS = (("\u0085", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def _kv_value(value: Any) -> str:
    """Return ``value`` bare when it is one printable token, else JSON-quoted.

    Quoting escapes CR, LF and every other control character, so a value taken from an
    upload (a filename, a test name) can never end the line and forge another record.
    """
    text = str(value)
    if text and text.isprintable() and not any(ch in text for ch in ' "=\\'):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    for char, escaped in _UNICODE_BREAKS:
        quoted = quoted.replace(char, escaped)
    return quoted


class KeyValueFormatter(logging.Formatter):
    """Format ``ts=… level=… logger=… msg="…" upload_id=7`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return one line; an exception traceback follows on the next lines."""
        pairs = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **record_context(record),
        }
        line = " ".join(f"{key}={_kv_value(value)}" for key, value in pairs.items())
        if record.exc_info:
            # Indent every traceback line (split on CR too), so only a record's first line
            # starts at column 0 and an exception message cannot pass for a record.
            lines = self.formatException(record.exc_info).splitlines()
            line += "".join("\n\t" + text for text in lines)
        return line


class JsonFormatter(logging.Formatter):
    """Format one JSON object per line with the ``extra=`` fields as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as compact JSON; non-JSON values become strings."""
        payload = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **record_context(record),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        line = json.dumps(payload, default=str, ensure_ascii=False)
        for char, escaped in _UNICODE_BREAKS:
            line = line.replace(char, escaped)
        return line
