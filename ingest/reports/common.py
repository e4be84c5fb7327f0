"""What every non-JUnit reader shares: one way to turn raw fields into a CaseRecord."""

import re
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from ingest.junit.model import CaseRecord, JUnitError, ReportLimits
from ingest.junit.values import Warnings, clean_name, clip, parse_duration

_PATH_TAIL = re.compile(r"[^/\\]*$")


def basename(path: str | None) -> str:
    """Return the last component of a POSIX or Windows path ("" for None)."""
    if not path:
        return ""
    match = _PATH_TAIL.search(path.rstrip("/\\"))
    return match.group() if match else path


def join_message(*parts: str | None) -> str:
    """Join the non-empty stripped parts with newlines (message, then stack trace)."""
    return "\n".join(p.strip() for p in parts if p and p.strip())


class Recorder:
    """Build CaseRecords under the report's limits; count testcases; collect warnings."""

    def __init__(self, limits: ReportLimits, warnings: Warnings) -> None:
        self.limits = limits
        self.warnings = warnings
        self.testcases = 0

    def seconds(self, value: str | float | int | None, *, scale: float = 1.0) -> float:
        """Return a finite duration >= 0 in seconds; warn and use 0 otherwise."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value) * scale
            if 0.0 <= seconds < float("inf"):
                return seconds
            value = str(value)
        seconds, problem = parse_duration(value if isinstance(value, str) else None)
        if problem:
            self.warnings.add(
                "time:missing" if problem == "missing" else "time:bad",
                f"a test time {problem}; counted as 0 s",
            )
        return seconds * scale

    def record(
        self,
        *,
        classname: str | None,
        name: str | None,
        outcome: str,
        duration: float,
        message: str = "",
        file: str | None = "",
        suite: str | None = "",
        flaky: bool = False,
        attempts: int = 1,
        line: int | None = None,
    ) -> CaseRecord:
        """Return one CaseRecord, names normalised and cut to the limits (with a warning)."""
        self.testcases += 1
        limits = self.limits
        if self.testcases > limits.max_testcases:
            raise JUnitError(
                "too_many_testcases", f"more than {limits.max_testcases} tests in one report"
            )
        max_name = limits.max_name_length
        cut = False
        values = []
        for value in (classname, name, suite):
            cleaned, truncated = clean_name(value, max_name)
            values.append(cleaned)
            cut = cut or truncated
        file = file or ""
        if len(file) > max_name:
            file, cut = clip(file, max_name), True
        if cut:
            self.warnings.add(
                "truncated:name",
                f"a test name, suite or file longer than {max_name} characters was truncated",
            )
        if len(message) > limits.max_message_length:
            self.warnings.add(
                "truncated:message",
                f"a result message longer than {limits.max_message_length} characters "
                "was truncated",
            )
            message = clip(message, limits.max_message_length)
        return CaseRecord(
            values[0],
            values[1],
            file,
            line,
            values[2],
            outcome,
            flaky,
            max(1, attempts),
            duration,
            message,
        )


class StreamReader:
    """Base of the report readers: iterate CaseRecords once; expose counts and warnings.

    Subclasses implement `_records()` and may set `timestamp` while reading.
    """

    format = ""

    def __init__(self, stream: BinaryIO, limits: ReportLimits = ReportLimits()) -> None:  # noqa: B008
        self._stream = stream
        self._limits = limits
        self._warnings = Warnings()
        self._recorder = Recorder(limits, self._warnings)
        self._started = False
        self.timestamp: datetime | None = None

    @property
    def warnings(self) -> list[str]:
        return self._warnings.as_list()

    @property
    def testcases(self) -> int:
        return self._recorder.testcases

    def __iter__(self) -> Iterator[CaseRecord]:
        if self._started:
            raise RuntimeError("a report reader can be iterated only once")
        self._started = True
        return self._records()

    def _records(self) -> Iterator[CaseRecord]:
        raise NotImplementedError
