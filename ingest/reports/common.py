"""What every non-JUnit reader shares: one way to turn raw fields into a CaseRecord."""

import contextlib
import re
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from ingest.junit.model import CaseRecord, JUnitError, ReportLimits
from ingest.junit.values import Warnings, clean_name, clip, parse_duration

_PATH_TAIL = re.compile(r"[^/\\]*$")
_INF = float("inf")


def basename(path: str | None) -> str:
    """Return the last component of a POSIX or Windows path ("" for None)."""
    if not path:
        return ""
    match = _PATH_TAIL.search(path.rstrip("/\\"))
    return match.group() if match else path


def join_message(*parts: str | None) -> str:
    """Join the non-empty stripped parts with newlines (message, then stack trace)."""
    return "\n".join(p.strip() for p in parts if p and p.strip())


def without_surrogates(text: str) -> str:
    """Return `text` with lone UTF-16 surrogates (valid in JSON, not in UTF-8) as "?"."""
    return text.encode("utf-8", "replace").decode("utf-8")


class Recorder:
    """Build CaseRecords under the report's limits; count testcases; collect warnings."""

    def __init__(self, limits: ReportLimits, warnings: Warnings) -> None:
        self.limits = limits
        self.warnings = warnings
        self.testcases = 0
        self._max_name = limits.max_name_length
        self._max_message = limits.max_message_length
        self._max_testcases = limits.max_testcases
        self._cache: dict[tuple, tuple[str, str]] = {}
        self._cut = False

    def seconds(self, value: str | float | int | None, *, scale: float = 1.0) -> float:
        """Return a finite duration >= 0 in seconds; warn and use 0 otherwise."""
        if type(value) is str and "," in value:
            # A decimal comma ("0,123", NUnit 2 in many cultures; float() refuses any
            # comma): read without raising, for the whole report may be written so.
            seconds = -1.0
            if value.count(",") == 1 and "." not in value:
                with contextlib.suppress(ValueError):
                    seconds = float(value.replace(",", ".")) * scale
        else:
            try:
                seconds = float(value) * scale  # type: ignore[arg-type]
            except (TypeError, ValueError):
                seconds = -1.0
        if 0.0 <= seconds < _INF and not isinstance(value, bool):
            return seconds
        seconds, problem = parse_duration(None if value is None else str(value))
        if problem:
            self.warnings.add(
                "time:missing" if problem == "missing" else "time:bad",
                f"a test time {problem}; counted as 0 s",
            )
        return seconds * scale

    def clean(self, value: str | None) -> str:
        """Return `value` normalised and cut to the name limit (noting a cut)."""
        if not value:
            return ""
        # Fast path of clean_name() for the common plain ASCII name.
        if (
            len(value) <= self._max_name
            and value.isascii()
            and value.isprintable()
            and "  " not in value
            and value[0] != " "
            and value[-1] != " "
        ):
            return value
        if not value.isascii():
            value = without_surrogates(value)
        cleaned, truncated = clean_name(value, self._max_name)
        if truncated:
            self._cut = True
        return cleaned

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
        # The hot path of every reader: each check is inlined for the common case.
        testcases = self.testcases = self.testcases + 1
        if testcases > self._max_testcases:
            raise JUnitError(
                "too_many_testcases", f"more than {self._max_testcases} tests in one report"
            )
        cache = self._cache
        group = cache.get((classname, suite))
        if group is None:
            if len(cache) > 10_000:
                cache.clear()
            group = cache[(classname, suite)] = (self.clean(classname), self.clean(suite))
        max_name = self._max_name
        if not (
            name
            and len(name) <= max_name
            and name.isascii()
            and name.isprintable()
            and "  " not in name
            and name[0] != " "
            and name[-1] != " "
        ):
            name = self.clean(name)
        if not file:
            file = ""
        elif len(file) > max_name:
            file, self._cut = clip(file, max_name), True
        if self._cut:
            self._cut = False
            self.warnings.add(
                "truncated:name",
                f"a test name, suite or file longer than {max_name} characters was truncated",
            )
        if message:
            if not message.isascii():
                message = without_surrogates(message)
            if len(message) > self._max_message:
                self.warnings.add(
                    "truncated:message",
                    f"a result message longer than {self._max_message} characters was truncated",
                )
                message = clip(message, self._max_message)
        return CaseRecord(
            group[0],
            name,
            file,
            line,
            group[1],
            outcome,
            flaky,
            attempts if attempts > 1 else 1,
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
