"""Stream JUnit XML into CaseRecords through lxml's parser-target interface.

No element tree is built (see events.py): the target keeps the attributes of the open
testcase, the stack of open testsuites, and a capped text of each result element, so
memory stays flat whatever the report holds (a flood of unknown elements, a 30 MB
<system-out>). The result elements and their meaning come from junitparser's classes.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from junitparser import junitparser as jp
from junitparser import xunit2

from .events import ReportTarget, local_name, parse_events
from .model import CaseRecord, JUnitError, ReportLimits
from .prolog import ROOTS
from .values import Warnings, clean_name, clip, parse_duration, parse_timestamp


def _kind(cls: type[jp.Result]) -> str:
    if issubclass(cls, xunit2.InterimResult):
        return "interim"
    for base, kind in ((jp.Error, "error"), (jp.Failure, "failed"), (jp.Skipped, "skipped")):
        if issubclass(cls, base):
            return kind
    return "interim"


# junitparser's classes name the result elements a testcase may hold, and their kind.
_RESULT_KINDS: dict[str, str] = {
    tag: _kind(cls) for tag, cls in xunit2.TestCase.ITER_TYPES.items() if issubclass(cls, jp.Result)
}
_INF = float("inf")
_MAX_LINE = 2**31 - 1
_SKIP_STATUSES = frozenset({"notrun", "skipped", "disabled", "suppressed"})
_ORDER = ("error", "failed", "skipped")
_NO_RESULTS = ()


class JUnitTarget(ReportTarget):
    """Parser target turning testcase elements into CaseRecords."""

    format_name = "JUnit XML"

    def __init__(self, limits: ReportLimits, warnings: Warnings) -> None:
        super().__init__(limits, warnings)
        self._suites: list[tuple[str, str]] = []  # (suite name, file) of open testsuites
        self._suite = ("", "")
        self._case: dict | None = None
        self._open: list[tuple[dict, int, list]] = []  # outer testcases of a nested one
        self._case_depth = 0
        # (kind, message) of the open testcase's result elements; most testcases have
        # none, so they share one empty tuple instead of a new list each.
        self._results: list[tuple[str, str]] | tuple = _NO_RESULTS
        self._result_kind: str | None = None
        self._result_message = ""
        self._class_cache: dict[str | None, tuple[str, bool]] = {}
        self._max_testcases = limits.max_testcases
        self._max_name = limits.max_name_length

    def start(self, tag: str, attrib) -> None:
        # Inline of enter(): this runs for every element.
        self.elements += 1
        depth = self.depth = self.depth + 1
        if self.elements > self.max_elements or depth > self.max_depth:
            self.depth -= 1
            self.enter()  # raises the right JUnitError
        name = tag if tag[0] != "{" else tag.rpartition("}")[2]
        if depth == 1 and name not in ROOTS:
            raise self.not_root(tag, "<testsuites> or <testsuite>")
        if name == "testcase":
            if self._case is not None:  # a testcase inside a testcase: both count
                self._open.append((self._case, self._case_depth, self._results))
            self._case = attrib
            self._case_depth = depth
            self._results = _NO_RESULTS
        elif self._case is not None and depth == self._case_depth + 1 and name in _RESULT_KINDS:
            self._result_kind = _RESULT_KINDS[name]
            self._result_message = (attrib.get("message") or "").strip()
            self.capture(self.limits.max_message_length + 1)
        elif name == "testsuite":
            self._suite_start(attrib)

    def _suite_start(self, attrib) -> None:
        name = attrib.get("name") or ""
        file = attrib.get("file") or self._suite[1]
        suite, truncated = clean_name(name, self.limits.max_name_length)
        if truncated:
            self._warn_truncated("suite name")
        if self.timestamp is None:
            self.timestamp = parse_timestamp(attrib.get("timestamp"))
        self._suites.append(self._suite)
        self._suite = (suite, file)

    def end(self, tag: str) -> None:
        depth = self.depth
        self.depth = depth - 1
        if self._long_text:
            self.long_text_seen(tag)
        if self._case is not None:
            if depth == self._case_depth:
                self._case_end()
                if self._open:
                    self._case, self._case_depth, self._results = self._open.pop()
                return
            if self._result_kind is not None and depth == self._case_depth + 1:
                result = (self._result_kind, self._message(self.captured()))
                if self._results is _NO_RESULTS:
                    self._results = [result]
                else:
                    self._results.append(result)
                self._result_kind = None
                return
        if depth > 1 and self._suites and local_name(tag) == "testsuite":
            self._suite = self._suites.pop()

    def _warn_truncated(self, what: str) -> None:
        self.warnings.add(
            f"truncated:{what}",
            f"{what} longer than {self.limits.max_name_length} characters was truncated",
        )

    def _message(self, text: str) -> str:
        limit = self.limits.max_message_length
        message = self._result_message
        if text:
            text = text[: limit + 1].strip()
            message = f"{message}\n{text}" if message else text
        if len(message) > limit:
            self.warnings.add(
                "truncated:message",
                f"a result message longer than {limit} characters was truncated",
            )
            message = clip(message, limit)
        return message

    def _case_end(self) -> None:
        """Turn the testcase that just ended into a CaseRecord (the hot path)."""
        attrs = self._case
        self._case = None
        self.testcases += 1
        if self.testcases > self._max_testcases:
            raise JUnitError(
                "too_many_testcases",
                f"more than {self._max_testcases} testcases in one report",
            )
        max_name = self._max_name
        raw_class = attrs.get("classname")
        cached = self._class_cache.get(raw_class)
        if cached is None:
            if len(self._class_cache) > 10_000:
                self._class_cache.clear()
            cached = self._class_cache[raw_class] = clean_name(raw_class, max_name)
        classname, cut_class = cached
        name = attrs.get("name", "")
        # Inline fast path of clean_name() for the common plain ASCII name.
        if (
            name.isascii()
            and name.isprintable()
            and len(name) <= max_name
            and "  " not in name
            and name[:1] != " "
            and name[-1:] != " "
        ):
            cut_name = False
        else:
            name, cut_name = clean_name(name, max_name)
        if cut_class or cut_name:
            self._warn_truncated("testcase name")
        suite, file_default = self._suite
        file = attrs.get("file") or file_default
        if len(file) > max_name:
            file = clip(file, max_name)
            self._warn_truncated("file path")
        line_text = attrs.get("line")
        line = (
            int(line_text) if line_text and line_text.isdecimal() and line_text.isascii() else None
        )
        if line is not None and line > _MAX_LINE:  # keep it a 32-bit database integer
            line = None
        time_text = attrs.get("time")
        try:
            duration = float(time_text)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            duration = -1.0
        if not 0.0 <= duration < _INF:
            duration, problem = parse_duration(time_text)
            if problem:
                self.warnings.add(
                    "time:missing" if problem == "missing" else "time:bad",
                    f"testcase {name!r}: time {problem}; counted as 0 s",
                )
        if self.timestamp is None and "timestamp" in attrs:
            self.timestamp = parse_timestamp(attrs["timestamp"])
        results = self._results
        if results:
            outcome, flaky, attempts, message = _outcome(results)
        elif attrs.get("status") in _SKIP_STATUSES or attrs.get("result") in _SKIP_STATUSES:
            outcome, flaky, attempts, message = "skipped", False, 1, ""
        else:
            outcome, flaky, attempts, message = "passed", False, 1, ""
        self.records.append(
            CaseRecord(
                classname, name, file, line, suite, outcome, flaky, attempts, duration, message
            )
        )


def _outcome(results: list[tuple[str, str]]) -> tuple[str, bool, int, str]:
    """Return (outcome, flaky, attempts, message) from a testcase's result children."""
    interims = [message for kind, message in results if kind == "interim"]
    attempts = 1 + len(interims)
    for wanted in _ORDER:
        for kind, message in results:
            if kind == wanted:
                return wanted, False, attempts, message
    if interims:
        # Surefire flakyFailure/flakyError (or reruns without a final failure): passed on retry.
        return "passed", True, attempts, interims[0]
    return "passed", False, 1, ""


class ReportReader:
    """Iterate the CaseRecords of one JUnit report stream (already decompressed).

    Counts come from testcase elements only; attribute counters are ignored. After or
    during iteration, `warnings` lists truncations and zeroed times, `timestamp` holds
    the first usable suite/testcase timestamp (aware UTC) and `testcases` the number
    of testcase elements seen. A reader can be iterated once.
    """

    format = "junit"

    def __init__(self, stream: BinaryIO, limits: ReportLimits = ReportLimits()) -> None:  # noqa: B008
        self._stream = stream
        self._warnings = Warnings()
        self._target = self.make_target(limits, self._warnings)
        self._started = False

    def make_target(self, limits: ReportLimits, warnings: Warnings) -> ReportTarget:
        """Return the parser target of this reader's format."""
        return JUnitTarget(limits, warnings)

    @property
    def warnings(self) -> list[str]:
        return self._warnings.as_list()

    @property
    def timestamp(self) -> datetime | None:
        return self._target.timestamp

    @property
    def testcases(self) -> int:
        return self._target.testcases

    def __iter__(self) -> Iterator[CaseRecord]:
        if self._started:
            raise RuntimeError("a ReportReader can be iterated only once")
        self._started = True
        return parse_events(self._stream, self._target)
