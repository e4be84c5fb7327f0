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


def _kv_value(value: Any) -> str:
    """Return ``value`` bare when it is one token, else JSON-quoted (spaces, quotes, =)."""
    text = str(value)
    if text and not any(ch in text for ch in ' "=\n\t\\'):
        return text
    return json.dumps(text, ensure_ascii=False)


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
            line += "\n" + self.formatException(record.exc_info)
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
        return json.dumps(payload, default=str, ensure_ascii=False)
