"""Read CTRF JSON ({"results": {"tool", "summary", "tests": [...]}}) into CaseRecords.

The tests array is streamed with ijson (yajl2 C backend): one test object at a time is
built, read and dropped, and every string reaches the parser through JsonStringCutter,
so neither the file nor one long string is ever held whole. A test maps to a record:
name -> name, suite (an array from the outermost suite in, or a string) -> classname
joined with " > ", filePath -> file, duration (milliseconds) -> seconds, message and
trace -> message, retries -> attempts - 1, flaky -> flaky.
"""

from collections.abc import Iterator

import ijson

from ingest.junit.model import CaseRecord, JUnitError
from ingest.junit.values import parse_timestamp

from .common import StreamReader, join_message
from .jsontext import JsonStringCutter

_OUTCOMES = {
    "passed": "passed",
    "failed": "failed",
    "skipped": "skipped",
    "pending": "skipped",
    "other": "error",
}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " > ".join(_text(v) for v in value if v is not None)
    return value if isinstance(value, str) else str(value)


_ITEM = "results.tests.item"
# The fields read, by their ijson prefix; everything else in a test is skipped unbuilt.
_FIELDS = {
    f"{_ITEM}.{key}": key
    for key in (
        "name",
        "status",
        "duration",
        "start",
        "suite",
        "message",
        "trace",
        "filePath",
        "line",
        "retries",
        "flaky",
    )
}
_SUITE_ITEM = f"{_ITEM}.suite.item"
_SCALARS = frozenset({"string", "number", "boolean", "null"})


class CtrfReader(StreamReader):
    """Iterate the CaseRecords of a CTRF JSON report."""

    format = "ctrf"

    def _records(self) -> Iterator[CaseRecord]:
        cutter = JsonStringCutter(self._stream, self._limits.max_text_bytes)
        fields = _FIELDS
        max_skipped = self._limits.max_elements
        skipped = 0
        test: dict | None = None
        seen_results = False
        try:
            for prefix, event, value in ijson.parse(cutter, use_float=True):
                if test is not None:
                    key = fields.get(prefix)
                    if key is not None:
                        if event in _SCALARS:
                            test[key] = value
                        continue
                    if prefix == _SUITE_ITEM:
                        if event == "string":
                            test.setdefault("suites", []).append(value)
                        continue
                    if prefix == _ITEM:
                        if event == "end_map":
                            yield self._record(test)
                            test = None
                        continue
                elif prefix == _ITEM and event == "start_map":
                    test = {}
                    continue
                elif prefix == "results" and event == "start_map":
                    seen_results = True
                skipped += 1
                if skipped > max_skipped:
                    raise JUnitError(
                        "too_many_elements",
                        f"more than {max_skipped} JSON values besides the tests' fields "
                        "(PASSLINE_MAX_ELEMENTS)",
                    )
        except ijson.JSONError as exc:
            raise JUnitError("malformed", f"the CTRF JSON is not well-formed: {exc}") from None
        except UnicodeDecodeError:
            raise JUnitError(
                "malformed",
                "the CTRF JSON holds a string that is not valid Unicode (a lone \\ud800-"
                "\\udfff escape)",
            ) from None
        if not seen_results:
            raise JUnitError("not_junit", 'the JSON document has no "results" object')
        if cutter.cut:
            self._warnings.add(
                "text:long",
                f"{cutter.cut} JSON strings longer than {self._limits.max_text_bytes:,} bytes "
                "(PASSLINE_MAX_TEXT_BYTES) were cut while reading; the results were kept",
            )

    def _record(self, test: dict) -> CaseRecord:
        limit = self._limits.max_message_length + 1
        status = test.get("status")
        outcome = _OUTCOMES.get(status) if type(status) is str else None
        if outcome is None:
            status = _text(status).lower()
            outcome = _OUTCOMES.get(status)
            if outcome is None:
                self._warnings.add(
                    "ctrf:status", f"CTRF status {status[:40]!r} is not known; counted as an error"
                )
                outcome = "error"
        retries = test.get("retries")
        retries = int(retries) if isinstance(retries, int | float) and retries > 0 else 0
        line = test.get("line")
        if self.timestamp is None and test.get("start"):
            self.timestamp = parse_timestamp(_text(test.get("start")))
        suites = test.get("suites")
        message = test.get("message")
        trace = test.get("trace")
        if message or trace:
            message = join_message(_text(message)[:limit], _text(trace)[:limit])
        name = test.get("name")
        file = test.get("filePath")
        return self._recorder.record(
            classname=" > ".join(suites) if suites else _text(test.get("suite")),
            name=name if type(name) is str else _text(name),
            outcome=outcome,
            duration=self._recorder.seconds(test.get("duration"), scale=0.001),
            message=message or "",
            file=file if type(file) is str else _text(file),
            flaky=outcome == "passed" and (test.get("flaky") is True or retries > 0),
            attempts=1 + retries,
            line=int(line) if isinstance(line, int | float) and 0 < line < 2**31 else None,
        )
