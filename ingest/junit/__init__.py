"""Streaming JUnit XML reader: bytes in, plain CaseRecords out; no Django, no ORM."""

from .model import OUTCOMES, CaseRecord, JUnitError, ReportLimits, merge_attempts
from .prolog import check_report_head
from .reader import ReportReader
from .values import parse_duration, parse_timestamp

__all__ = [
    "OUTCOMES",
    "CaseRecord",
    "JUnitError",
    "ReportLimits",
    "ReportReader",
    "check_report_head",
    "merge_attempts",
    "parse_duration",
    "parse_timestamp",
]
