"""Read VSTest TRX (<TestRun> in the TeamTest/2010 namespace) into CaseRecords.

A TRX file lists results (<Results><UnitTestResult testId=…>) apart from the tests'
definitions (<TestDefinitions><UnitTest id=…><TestMethod className=…>), usually results
first. The reader keeps one small map, testId -> (className, assembly), and spills each
result whose definition is not known yet to a temporary file (marshal, one tuple per
result), then joins the spilled results with the map once the document has ended.
Memory is the map (about 100 bytes a test), never the results.

A data-driven result (MSTest DataRow/DynamicData, resultType="DataDrivenTest") holds
its cases as <InnerResults>; each inner result is one record (one test per case, its
name carries the data row) and the aggregate parent is not counted.
"""

import marshal
import re
import sqlite3
import tempfile
from collections.abc import Iterator

from ingest.junit.events import parse_events
from ingest.junit.model import CaseRecord, JUnitError

from .common import basename, join_message
from .xmlbase import FormatTarget, XmlFormatReader

NAMESPACE = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"
_OUTCOMES = {
    "passed": "passed",
    "passedbutrunaborted": "passed",
    "completed": "passed",
    "warning": "passed",
    "failed": "failed",
    "timeout": "failed",
    "error": "error",
    "aborted": "error",
    "notrunnable": "error",
    "disconnected": "error",
    "inprogress": "error",
    "pending": "error",
    "notexecuted": "skipped",
    "inconclusive": "skipped",
}
_RESULT, _TEXT, _DEFINITION, _METHOD, _TIMES = range(5)
_CODES = {
    f"{{{NAMESPACE}}}{name}": code
    for name, code in (
        ("UnitTestResult", _RESULT),
        ("Message", _TEXT),
        ("StackTrace", _TEXT),
        ("UnitTest", _DEFINITION),
        ("TestMethod", _METHOD),
        ("Times", _TIMES),
    )
}
_TAG_RUN = f"{{{NAMESPACE}}}TestRun"
_TAG_MESSAGE = f"{{{NAMESPACE}}}Message"
SPILL_BATCH = 1000  # results per marshal record in the spill file
DEFINITIONS_IN_MEMORY = 250_000  # about 25 MB; more go to a temporary SQLite file
_GUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)")


def id_key(test_id: str) -> int | str:
    """Return a compact dictionary key for a TRX GUID (an int: 44 bytes, not 85)."""
    if len(test_id) == 36 and _GUID.fullmatch(test_id):
        return int(test_id.replace("-", ""), 16)
    return test_id


def timespan_seconds(value: str | None) -> float | None:
    """Return the seconds of a .NET TimeSpan text ("[d.]hh:mm:ss[.fffffff]"), else None."""
    match = _TIMESPAN.fullmatch((value or "").strip())
    if match is None:
        return None
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


class DefinitionMap:
    """testId -> (className, assembly) of a TRX file's <UnitTest> definitions.

    A dict (about 100 bytes a test) up to `in_memory` definitions; past that, every
    definition moves to a table of a temporary SQLite file (the stdlib's sqlite3, a
    2 MiB page cache), so that even a report of millions of tests keeps memory flat.
    """

    def __init__(self, in_memory: int | None = None) -> None:
        self._memory: dict[int | str, tuple[str, str]] = {}
        self._in_memory = DEFINITIONS_IN_MEMORY if in_memory is None else in_memory
        self._pairs: dict[tuple[str, str], tuple[str, str]] = {}
        self._folder: tempfile.TemporaryDirectory | None = None
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[str, str, str]] = []

    @property
    def on_disk(self) -> bool:
        return self._db is not None

    def add(self, test_id: str, classname: str, assembly: str) -> None:
        if self._db is not None:
            self._pending.append((_text_key(test_id), classname, assembly))
            if len(self._pending) >= 10_000:
                self._write()
            return
        pair = (classname, assembly)
        self._memory[id_key(test_id)] = self._pairs.setdefault(pair, pair)
        if len(self._memory) > self._in_memory:
            self._to_disk()

    def get(self, test_id: str) -> tuple[str, str] | None:
        """Return a definition kept in memory (None once they moved to disk)."""
        return self._memory.get(id_key(test_id))

    def get_many(self, test_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Return the known definitions of `test_ids`, from memory or the SQLite table."""
        if self._db is None:
            memory = self._memory
            return {i: d for i in test_ids if (d := memory.get(id_key(i))) is not None}
        self._write()
        keys = {_text_key(i): i for i in test_ids}
        found: dict[str, tuple[str, str]] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT k, c, a FROM d WHERE k IN ({marks})", part)  # noqa: S608
            for key, classname, assembly in rows:
                found[keys[key]] = (classname, assembly)
        return found

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _to_disk(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="passline-trx-")
        self._db = sqlite3.connect(f"{self._folder.name}/definitions.sqlite3")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("PRAGMA cache_size = -2048")
        self._db.execute("CREATE TABLE d (k TEXT PRIMARY KEY, c TEXT, a TEXT) WITHOUT ROWID")
        self._pending = [
            (_int_or_text_key(key), classname, assembly)
            for key, (classname, assembly) in self._memory.items()
        ]
        self._memory = {}
        self._pairs = {}
        self._write()

    def _write(self) -> None:
        if self._pending and self._db is not None:
            self._db.executemany("INSERT OR REPLACE INTO d VALUES (?, ?, ?)", self._pending)
            self._pending = []


def _text_key(test_id: str) -> str:
    return _int_or_text_key(id_key(test_id))


def _int_or_text_key(key: int | str) -> str:
    return f"g{key:x}" if isinstance(key, int) else f"s{key}"


class TrxTarget(FormatTarget):
    """Parser target for TRX: emits joined records, spills the rest."""

    format_name = "VSTest TRX"

    def __init__(self, limits, warnings) -> None:
        super().__init__(limits, warnings)
        self.definitions = DefinitionMap()
        self.spill = None
        self.spilled = 0
        self._batch: list[tuple] = []
        self._open: list[list] = []  # [attrs, has_inner, message, trace] per open result
        self._text_kind = ""
        self._definition: tuple[str, str] | None = None  # (testId, storage) of <UnitTest>
        self._assemblies: dict[str, str] = {}  # storage path -> assembly file name

    def start(self, tag: str, attrib) -> None:
        self.elements += 1
        depth = self.depth = self.depth + 1
        if self.elements > self.max_elements or depth > self.max_depth:
            self.depth -= 1
            self.enter()  # raises the right JUnitError
        if depth == 1:
            if tag != _TAG_RUN:
                raise self.not_root(tag, f"<TestRun> in the {NAMESPACE} namespace")
            return
        code = _CODES.get(tag)
        if code is None:
            return
        if code == _RESULT:
            if self._open:
                self._open[-1][1] = True
            self._open.append([attrib, False, "", ""])
        elif self._open:
            if code == _TEXT and not self._text_kind:
                self._text_kind = tag
                self.capture(self.limits.max_message_length + 1)
        elif code == _DEFINITION:
            self._definition = (attrib.get("id") or "", attrib.get("storage") or "")
        elif code == _METHOD and self._definition is not None:
            test_id, storage = self._definition
            assembly = self._assemblies.get(storage)
            if assembly is None:
                assembly = self._assemblies[storage] = basename(storage)
            self.definitions.add(test_id, attrib.get("className") or "", assembly)
        elif code == _TIMES:
            self.note_timestamp(attrib.get("start") or attrib.get("creation"))

    def end(self, tag: str) -> None:
        self.depth -= 1
        if self._long_text:
            self.long_text_seen(tag)
        code = _CODES.get(tag)
        if code is None:
            return
        if code == _RESULT:
            attrs, has_inner, message, trace = self._open.pop()
            if not has_inner:
                self._result(attrs, join_message(message, trace) if message or trace else "")
        elif self._text_kind == tag:
            text = self.captured()
            slot = 2 if tag == _TAG_MESSAGE else 3
            if not self._open[-1][slot]:
                self._open[-1][slot] = text
            self._text_kind = ""
        elif code == _DEFINITION:
            self._definition = None

    def _result(self, attrs: dict, message: str) -> None:
        test_id = attrs.get("testId") or ""
        fields = (
            test_id,
            attrs.get("testName") or "",
            attrs.get("outcome") or "",
            attrs.get("duration") or "",
            message,
        )
        if self.timestamp is None:
            self.note_timestamp(attrs.get("startTime"))
        known = self.definitions.get(test_id)
        if known is not None:
            self.emit_result(fields, known)
            return
        self._batch.append(fields)
        if len(self._batch) >= SPILL_BATCH:
            self._flush()
        self.spilled += 1
        if self.spilled + self.testcases > self.limits.max_testcases:
            raise JUnitError(
                "too_many_testcases", f"more than {self.limits.max_testcases} tests in one report"
            )

    def _flush(self) -> None:
        if self.spill is None:
            self.spill = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the reader)
        marshal.dump(self._batch, self.spill)
        self._batch = []

    def emit_result(self, fields: tuple, definition: tuple[str, str]) -> None:
        _test_id, test_name, outcome_text, duration_text, message = fields
        classname, assembly = definition
        name = test_name
        if classname and name.startswith(classname + "."):
            name = name[len(classname) + 1 :]
        outcome = _OUTCOMES.get(outcome_text.lower())
        if outcome is None:
            self.warnings.add(
                "trx:outcome",
                f"TRX outcome {outcome_text!r} is not known; counted as an error",
            )
            outcome = "error"
        seconds = timespan_seconds(duration_text)
        if seconds is None:
            seconds = self.recorder.seconds(duration_text or None)
        self.emit(
            classname=classname,
            name=name,
            outcome=outcome,
            duration=seconds,
            message=message,
            suite=assembly,
        )

    def replay(self) -> Iterator[CaseRecord]:
        """Yield the spilled results joined with the definitions, then drop the spill."""
        if self._batch:
            self._flush()
        if self.spill is None:
            return
        spill, self.spill = self.spill, None
        definitions = self.definitions
        with spill:
            spill.seek(0)
            left = self.spilled
            while left > 0:
                batch = marshal.load(spill)  # noqa: S302 (our own temp file)
                left -= len(batch)
                found = definitions.get_many([fields[0] for fields in batch])
                for fields in batch:
                    definition = found.get(fields[0])
                    if definition is None:
                        self.warnings.add(
                            "trx:definition",
                            "a TRX result has no <UnitTest> definition; its class is unknown",
                        )
                        definition = ("", "")
                    self.emit_result(fields, definition)
                yield from self.records
                self.records.clear()


class TrxReader(XmlFormatReader):
    """Iterate the CaseRecords of a VSTest TRX report."""

    format = "trx"

    def make_target(self, limits, warnings) -> TrxTarget:
        return TrxTarget(limits, warnings)

    def __iter__(self) -> Iterator[CaseRecord]:
        if self._started:
            raise RuntimeError("a ReportReader can be iterated only once")
        self._started = True
        return self._records()

    def _records(self) -> Iterator[CaseRecord]:
        target = self._target
        try:
            yield from parse_events(self._stream, target)
            yield from target.replay()
        finally:
            if target.spill is not None:
                target.spill.close()
            target.definitions.close()
