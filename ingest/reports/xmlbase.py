"""Base of the XML format readers: a parser target with a Recorder, read like JUnit."""

from ingest.junit.events import ReportTarget
from ingest.junit.model import ReportLimits
from ingest.junit.reader import ReportReader
from ingest.junit.values import Warnings, parse_timestamp

from .common import Recorder


class FormatTarget(ReportTarget):
    """A parser target that emits records through a Recorder.

    Subclasses implement `start(tag, attrib)` and `end(tag)`; `tag` arrives with its
    "{namespace}" prefix, which they strip. Text is kept only while captured.
    """

    def __init__(self, limits: ReportLimits, warnings: Warnings) -> None:
        super().__init__(limits, warnings)
        self.recorder = Recorder(limits, warnings)

    def emit(self, **fields) -> None:
        self.records.append(self.recorder.record(**fields))
        self.testcases = self.recorder.testcases

    def note_timestamp(self, value: str | None) -> None:
        if self.timestamp is None and value:
            self.timestamp = parse_timestamp(value)


class XmlFormatReader(ReportReader):
    """Iterate the CaseRecords of one XML report of `target_class`'s format."""
