"""Stream JUnit XML into CaseRecords with lxml iterparse, with flat memory.

The reader first parses the prolog up to the root start tag (refusing a DOCTYPE and
any root other than testsuites/testsuite), then iterparses the whole document again
from the start, handing Python only the end events of testcase and testsuite elements.
Each handled element is cleared and its earlier siblings deleted, so memory stays flat.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from junitparser import junitparser as jp
from junitparser import xunit2
from lxml import etree

from .model import CaseRecord, JUnitError, ReportLimits
from .prolog import (
    CHUNK,
    PARSER_OPTIONS,
    RefuseResolver,
    check_root,
    has_doctype,
    is_blank,
    local_name,
    syntax_error,
)
from .values import Warnings, clean_name, clip, parse_duration, parse_timestamp

MAX_PROLOG = 16 * 1024 * 1024  # libxml2 caps one attribute value at 10 MB
_TAGS = ("{*}testcase", "{*}testsuite")
# junitparser's classes name the result elements a testcase may hold.
_RESULT_CLASSES: dict[str, type[jp.Result]] = {
    tag: cls for tag, cls in xunit2.TestCase.ITER_TYPES.items() if issubclass(cls, jp.Result)
}
_INF = float("inf")
_MAX_LINE = 2**31 - 1
_SKIP_STATUSES = frozenset({"notrun", "skipped", "disabled", "suppressed"})


class _Chain:
    """Read `head` bytes, then the rest of `stream`."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            data, self._head = self._head, b""
            return data
        return self._stream.read(size if size and size > 0 else CHUNK)


class ReportReader:
    """Iterate the CaseRecords of one report stream (already decompressed).

    Counts come from testcase elements only; attribute counters are ignored. After or
    during iteration, `warnings` lists truncations and zeroed times, `timestamp` holds
    the first usable suite/testcase timestamp (aware UTC) and `testcases` the number
    of testcase elements seen. A reader can be iterated once.
    """

    def __init__(self, stream: BinaryIO, limits: ReportLimits = ReportLimits()) -> None:  # noqa: B008
        self._stream = stream
        self._limits = limits
        self._warnings = Warnings()
        self._started = False
        self.timestamp: datetime | None = None
        self.testcases = 0

    @property
    def warnings(self) -> list[str]:
        return self._warnings.as_list()

    def __iter__(self) -> Iterator[CaseRecord]:
        if self._started:
            raise RuntimeError("a ReportReader can be iterated only once")
        self._started = True
        return self._records()

    def _read_prolog(self) -> bytes:
        """Read until the root start tag, check it, and return the bytes read."""
        parser = etree.XMLPullParser(events=("start",), **PARSER_OPTIONS)
        parser.resolvers.add(RefuseResolver())
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                chunk = self._stream.read(CHUNK)
                if not chunk:
                    data = b"".join(chunks)
                    if is_blank(data):
                        raise JUnitError("empty", "the report is empty (no XML content)")
                    parser.close()
                    raise JUnitError("malformed", "the report has no root element")
                chunks.append(chunk)
                size += len(chunk)
                parser.feed(chunk)
                for _event, element in parser.read_events():
                    check_root(element)
                    return b"".join(chunks)
                if size > MAX_PROLOG:
                    raise JUnitError(
                        "malformed", f"no root element in the first {MAX_PROLOG} bytes"
                    )
        except etree.XMLSyntaxError as exc:
            if has_doctype(b"".join(chunks)):
                raise JUnitError(
                    "doctype_forbidden", "a DOCTYPE is not allowed in a JUnit report"
                ) from None
            raise syntax_error(exc) from None

    def _depth_check(self, element: etree._Element) -> None:
        depth = 1 + sum(1 for _ in element.iterancestors())
        if depth > self._limits.max_depth:
            line = element.sourceline
            raise JUnitError(
                "too_deep",
                f"line {line}: elements are nested {depth} deep, more than the limit of "
                f"{self._limits.max_depth}",
                line,
                None,
            )

    def _suite_info(self, case: etree._Element) -> tuple[str, str]:
        """Return (innermost suite name, nearest suite file) of a testcase; check depth."""
        self._depth_check(case)
        name = None
        file = ""
        for ancestor in case.iterancestors():
            if local_name(ancestor.tag) != "testsuite":
                continue
            if name is None:
                name = ancestor.get("name") or ""
            if not file:
                file = ancestor.get("file") or ""
            if self.timestamp is None:
                self.timestamp = parse_timestamp(ancestor.get("timestamp"))
        suite, truncated = clean_name(name, self._limits.max_name_length)
        if truncated:
            self._warn_truncated("suite name", case.sourceline)
        return suite, file

    def _warn_truncated(self, what: str, line: int | None) -> None:
        self._warnings.add(
            f"truncated:{what}",
            f"line {line}: {what} longer than {self._limits.max_name_length} characters "
            "was truncated",
        )

    def _records(self) -> Iterator[CaseRecord]:
        head = self._read_prolog()
        context = etree.iterparse(
            _Chain(head, self._stream), events=("end",), tag=_TAGS, **PARSER_OPTIONS
        )
        context.resolvers.add(RefuseResolver())
        # The hot loop: plain locals and a dict of attributes, because each lxml
        # element.get() costs about as much as reading all attributes at once.
        limits = self._limits
        max_name = limits.max_name_length
        max_cases = limits.max_testcases
        warn = self._warnings.add
        class_cache: dict[str, tuple[str, bool]] = {}
        parent = None
        suite = file_default = ""
        try:
            for _event, element in context:
                tag = element.tag
                if tag != "testcase" and not tag.endswith("}testcase"):
                    self._end_suite(element)
                    parent = None
                    continue
                self.testcases += 1
                if self.testcases > max_cases:
                    raise JUnitError(
                        "too_many_testcases",
                        f"line {element.sourceline}: more than {max_cases} testcases in one report",
                        element.sourceline,
                        None,
                    )
                if (above := element.getparent()) is not parent:
                    parent = above
                    suite, file_default = self._suite_info(element)
                attrs = dict(element.items())
                raw_class = attrs.get("classname")
                cached = class_cache.get(raw_class)
                if cached is None:
                    if len(class_cache) > 10_000:
                        class_cache.clear()
                    cached = class_cache[raw_class] = clean_name(raw_class, max_name)
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
                    self._warn_truncated("testcase name", element.sourceline)
                file = attrs.get("file") or file_default
                if len(file) > max_name:
                    file = clip(file, max_name)
                    self._warn_truncated("file path", element.sourceline)
                line_text = attrs.get("line")
                line = (
                    int(line_text)
                    if line_text and line_text.isdecimal() and line_text.isascii()
                    else None
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
                        warn(
                            "time:missing" if problem == "missing" else "time:bad",
                            f"line {element.sourceline}: testcase time {problem}; counted as 0 s",
                        )
                if self.timestamp is None:
                    self.timestamp = parse_timestamp(attrs.get("timestamp"))
                if len(element):
                    outcome, flaky, attempts, message = self._results(element)
                elif attrs.get("status") in _SKIP_STATUSES or attrs.get("result") in _SKIP_STATUSES:
                    outcome, flaky, attempts, message = "skipped", False, 1, ""
                else:
                    outcome, flaky, attempts, message = "passed", False, 1, ""
                yield CaseRecord(
                    classname, name, file, line, suite, outcome, flaky, attempts, duration, message
                )
                element.clear()
                while element.getprevious() is not None:
                    del parent[0]
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc) from None

    def _end_suite(self, element: etree._Element) -> None:
        """Check a finished testsuite's depth and timestamp, then free it."""
        self._depth_check(element)
        if self.timestamp is None:
            self.timestamp = parse_timestamp(element.get("timestamp"))
        element.clear()
        _drop_previous(element)

    def _results(self, element: etree._Element) -> tuple[str, bool, int, str]:
        """Return (outcome, flaky, attempts, message) from a testcase's result children."""
        finals: list[jp.Result] = []
        interims: list[jp.Result] = []
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            cls = _RESULT_CLASSES.get(local_name(tag))
            if cls is None:
                continue
            # Wrap without junitparser's fromelem(), which builds a throwaway element.
            result = cls.__new__(cls)
            result._elem = child
            (interims if isinstance(result, xunit2.InterimResult) else finals).append(result)
        attempts = 1 + len(interims)
        for kind, outcome in ((jp.Error, "error"), (jp.Failure, "failed"), (jp.Skipped, "skipped")):
            chosen = next((r for r in finals if isinstance(r, kind)), None)
            if chosen is not None:
                return outcome, False, attempts, self._message(chosen)
        if interims:
            # Surefire flakyFailure/flakyError (or reruns without a final failure): passed on retry.
            return "passed", True, attempts, self._message(interims[0])
        return "passed", False, 1, ""

    def _message(self, result: jp.Result) -> str:
        limit = self._limits.max_message_length
        message = (result.message or "").strip()
        text = result.text
        if text:
            text = text[: limit + 1].strip()
            message = f"{message}\n{text}" if message else text
        if len(message) > limit:
            self._warnings.add(
                "truncated:message",
                f"line {result._elem.sourceline}: a result message longer than {limit} "
                "characters was truncated",
            )
            message = clip(message, limit)
        return message


def _drop_previous(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    while element.getprevious() is not None:
        del parent[0]
