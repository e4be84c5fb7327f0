"""Read every accepted report format into the JUnit reader's CaseRecords; no Django.

`open_reader(stream, limits)` sniffs the format from the first 64 KiB (root element or
JSON shape, never the file name) and returns a reader of that format. All readers share
the JUnit reader's interface and guarantees: iterate CaseRecords once; `testcases`,
`warnings`, `timestamp` and `format`; the same limits (ReportLimits) and refusals
(JUnitError); bounded memory whatever the report's size.
"""

from typing import BinaryIO

from ingest.junit.model import JUnitError, ReportLimits
from ingest.junit.prolog import CHUNK
from ingest.junit.reader import ReportReader

from .ctrf import CtrfReader
from .gotest import GoTestReader
from .nunit import NUnit2Reader, NUnit3Reader
from .sniff import ACCEPTED, FORMATS, sniff
from .trx import TrxReader
from .xunit import XUnitReader

READERS = {
    "junit": ReportReader,
    "nunit3": NUnit3Reader,
    "nunit2": NUnit2Reader,
    "xunit": XUnitReader,
    "trx": TrxReader,
    "ctrf": CtrfReader,
    "gotest": GoTestReader,
}


class _Chain:
    """Read `head` bytes, then the rest of `stream`."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0 or size >= len(self._head):
                data, self._head = self._head, b""
            else:
                data, self._head = self._head[:size], self._head[size:]
            return data
        return self._stream.read(size if size and size > 0 else CHUNK)


def open_reader(stream: BinaryIO, limits: ReportLimits = ReportLimits()):  # noqa: B008
    """Return a reader of the report in `stream` (decompressed), chosen by sniffing."""
    head = b""
    while len(head) < CHUNK:
        chunk = stream.read(CHUNK - len(head))
        if not chunk:
            break
        head += chunk
    name = sniff(head, complete=len(head) < CHUNK)
    return READERS[name](_Chain(head, stream), limits)


__all__ = ["ACCEPTED", "FORMATS", "READERS", "JUnitError", "open_reader", "sniff"]
