"""Read VSTest TRX (<TestRun> in the TeamTest/2010 namespace) into CaseRecords.

A TRX file lists results (<Results><UnitTestResult testId=…>) apart from the tests'
definitions (<TestDefinitions><UnitTest id=…><TestMethod className=…>), usually results
first. The reader keeps one small map, testId -> (className, assembly), and holds each
result whose definition is not known yet as a compact tuple (outcome mapped, duration
in seconds): up to RESULTS_IN_MEMORY of them in memory, the rest in a temporary file
(marshal, 1,000 a batch); once the document has ended it joins them with the map.
Memory is the map (about 150 bytes a test, on disk past DEFINITIONS_IN_MEMORY) and a
bounded number of held results, never the whole report.

A data-driven result (MSTest DataRow/DynamicData, resultType="DataDrivenTest") holds
its cases as <InnerResults>; each inner result is one record (one test per case, its
name carries the data row) and the aggregate parent is not counted.
"""

import marshal
import re
import sqlite3
import struct
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
# VSTest's own spelling too, so that the common case needs no lower().
_OUTCOMES.update(
    (name, _OUTCOMES[name.lower()])
    for name in (
        "Passed",
        "PassedButRunAborted",
        "Completed",
        "Warning",
        "Failed",
        "Timeout",
        "Error",
        "Aborted",
        "NotRunnable",
        "Disconnected",
        "InProgress",
        "Pending",
        "NotExecuted",
        "Inconclusive",
    )
)
_RUN, _RESULT, _TEXT, _DEFINITION, _METHOD, _TIMES = range(6)
_CODES = {
    f"{{{NAMESPACE}}}{name}": code
    for name, code in (
        ("TestRun", _RUN),
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
RESULTS_IN_MEMORY = 50_000  # held results (about 350 bytes each) before spilling
DEFINITIONS_IN_MEMORY = 250_000  # about 40 MB; more go to a temporary SQLite file
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)")
_UNDER_A_MINUTE = re.compile(r"00:00:(\d+(?:\.\d+)?)")  # most tests: one group, no sums
_LENGTH = struct.Struct("<I")  # the byte length before each marshal batch


def timespan_seconds(value: str | None) -> float | None:
    """Return the seconds of a .NET TimeSpan text ("[d.]hh:mm:ss[.fffffff]"), else None."""
    if value and (short := _UNDER_A_MINUTE.fullmatch(value)) is not None:
        return float(short.group(1))
    match = _TIMESPAN.fullmatch((value or "").strip())
    if match is None:
        return None
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


class DefinitionMap:
    """testId -> (className, assembly) of a TRX file's <UnitTest> definitions.

    A dict keyed by the testId text (about 150 bytes a test) up to `in_memory`
    definitions; past that, every definition moves to a table of a temporary SQLite file
    (the stdlib's sqlite3, a 2 MiB page cache), so that even a report of millions of
    tests keeps memory flat.
    """

    def __init__(self, in_memory: int | None = None) -> None:
        self._memory: dict[str, tuple[str, str]] = {}
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
            self._pending.append((test_id, classname, assembly))
            if len(self._pending) >= 10_000:
                self._write()
            return
        pair = (classname, assembly)
        self._memory[test_id] = self._pairs.setdefault(pair, pair)
        if len(self._memory) > self._in_memory:
            self._to_disk()

    def get(self, test_id: str) -> tuple[str, str] | None:
        """Return a definition kept in memory (None once they moved to disk)."""
        return self._memory.get(test_id)

    def get_many(self, test_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Return the known definitions of `test_ids`, from memory or the SQLite table."""
        if self._db is None:
            memory = self._memory
            return {i: d for i in test_ids if (d := memory.get(i)) is not None}
        self._write()
        found: dict[str, tuple[str, str]] = {}
        wanted = list(set(test_ids))
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT k, c, a FROM d WHERE k IN ({marks})", part)  # noqa: S608
            for key, classname, assembly in rows:
                found[key] = (classname, assembly)
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
        self._pending = [(key, c, a) for key, (c, a) in self._memory.items()]
        self._memory = {}
        self._pairs = {}
        self._write()

    def _write(self) -> None:
        if self._pending and self._db is not None:
            self._db.executemany("INSERT OR REPLACE INTO d VALUES (?, ?, ?)", self._pending)
            self._pending = []


def trx_id_key(text: str | None) -> str:
    """Return the key of a TRX test id: a GUID, which compares case-insensitively and
    may be written in braces ("{8C84FA94-…}" names the same test as "8c84fa94-…")."""
    return (text or "").strip().strip("{}").lower()


def trx_outcome(text: str) -> str | None:
    """Return passline's outcome of a TRX outcome text (any case), else None."""
    return _OUTCOMES.get(text) or _OUTCOMES.get(text.lower())


class TrxTarget(FormatTarget):
    """Parser target for TRX: emits joined records, holds back the rest.

    A result is held as (testId, testName, outcome, seconds, message): compact, and the
    work of mapping its outcome and duration done once, while its attributes are at hand.
    """

    format_name = "VSTest TRX"

    def __init__(self, limits, warnings) -> None:
        super().__init__(limits, warnings)
        self.definitions = DefinitionMap()
        self.spill = None
        self.deferred = 0  # results held back until their definitions are read
        self.spilled = 0  # of those, the ones written to the spill file
        self._held: list[tuple] = []  # the first RESULTS_IN_MEMORY held results
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
        code = _CODES.get(tag)
        if code is None or depth == 1:
            if depth == 1 and code != _RUN:
                raise self.not_root(tag, f"<TestRun> in the {NAMESPACE} namespace")
            return
        if code == _RESULT:
            if self._open:
                self._open[-1][1] = True
            self._open.append([attrib, False, "", ""])
        elif self._open:
            if code == _TEXT and not self._text_kind:
                self._text_kind = tag
                self.capture(self.limits.max_message_length + 1)
        elif code == _METHOD:
            if self._definition is not None:
                test_id, storage = self._definition
                assembly = self._assemblies.get(storage)
                if assembly is None:
                    assembly = self._assemblies[storage] = basename(storage)
                self.definitions.add(test_id, attrib.get("className") or "", assembly)
        elif code == _DEFINITION:
            self._definition = (trx_id_key(attrib.get("id")), attrib.get("storage") or "")
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
        test_id = trx_id_key(attrs.get("testId"))
        outcome_text = attrs.get("outcome") or ""
        outcome = trx_outcome(outcome_text)
        if outcome is None:
            self.warnings.add(
                "trx:outcome",
                f"TRX outcome {outcome_text!r} is not known; counted as an error",
            )
            outcome = "error"
        duration = attrs.get("duration")
        seconds = timespan_seconds(duration)
        if seconds is None:
            seconds = self.recorder.seconds(duration or None)
        if self.timestamp is None:
            self.note_timestamp(attrs.get("startTime"))
        fields = (test_id, attrs.get("testName") or "", outcome, seconds, message)
        known = self.definitions.get(test_id)
        if known is not None:
            self.emit_result(fields, known)
            return
        self.deferred += 1
        if self.deferred + self.testcases > self.limits.max_testcases:
            raise JUnitError(
                "too_many_testcases", f"more than {self.limits.max_testcases} tests in one report"
            )
        if self.deferred <= RESULTS_IN_MEMORY:
            self._held.append(fields)
            return
        self.spilled += 1
        self._batch.append(fields)
        if len(self._batch) >= SPILL_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.spill is None:
            self.spill = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the reader)
        # One length-prefixed blob a batch: marshal.loads of bytes is many times faster
        # than marshal.load, which reads a file in small pieces.
        blob = marshal.dumps(self._batch)
        self.spill.write(_LENGTH.pack(len(blob)))
        self.spill.write(blob)
        self._batch = []

    def emit_result(self, fields: tuple, definition: tuple[str, str]) -> None:
        _test_id, name, outcome, seconds, message = fields
        classname, assembly = definition
        if (
            classname
            and name.startswith(classname)
            and name[len(classname) : len(classname) + 1] == "."
        ):
            name = name[len(classname) + 1 :]
        self.records.append(
            self.recorder.record(
                classname=classname,
                name=name,
                outcome=outcome,
                duration=seconds,
                message=message,
                suite=assembly,
            )
        )
        self.testcases = self.recorder.testcases

    def _held_batches(self) -> Iterator[list[tuple]]:
        """Yield the held results in their order, in batches: memory, then the spill."""
        held, self._held = self._held, []
        for start in range(0, len(held), SPILL_BATCH):
            yield held[start : start + SPILL_BATCH]
        del held
        if self._batch:
            self._flush()
        if self.spill is None:
            return
        spill, self.spill = self.spill, None
        with spill:
            spill.seek(0)
            while header := spill.read(_LENGTH.size):
                yield marshal.loads(spill.read(_LENGTH.unpack(header)[0]))  # noqa: S302 (our own temp file)

    def replay(self) -> Iterator[CaseRecord]:
        """Yield the held results joined with the definitions, then drop them."""
        definitions = self.definitions
        for batch in self._held_batches():
            if definitions.on_disk:
                find = definitions.get_many([fields[0] for fields in batch]).get
            else:
                find = definitions.get
            for fields in batch:
                definition = find(fields[0])
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
