"""Streaming JUnit XML reader: bytes in, plain CaseRecords out; no Django, no ORM."""

from .model import OUTCOMES, CaseRecord, JUnitError, ReportLimits, merge_attempts
from .reader import ReportReader
from .values import parse_duration, parse_timestamp

__all__ = [
    "OUTCOMES",
    "CaseRecord",
    "JUnitError",
    "ReportLimits",
    "ReportReader",
    "merge_attempts",
    "parse_duration",
    "parse_timestamp",
]
