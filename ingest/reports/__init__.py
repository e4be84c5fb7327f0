"""Read every accepted report format into the JUnit reader's CaseRecords; no Django.

`open_reader(stream, limits)` sniffs the format from the first 64 KiB (root element or
JSON shape, never the file name) and returns a reader of that format. All readers share
the JUnit reader's interface and guarantees: iterate CaseRecords once; `testcases`,
`warnings`, `timestamp` and `format`; the same limits (ReportLimits) and refusals
(JUnitError); bounded memory whatever the report's size.
"""

import io
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

MAX_PROLOG = 16 * 1024 * 1024  # libxml2 refuses a comment beyond 10 MB anyway
READERS = {
    "junit": ReportReader,
    "nunit3": NUnit3Reader,
    "nunit2": NUnit2Reader,
    "xunit": XUnitReader,
    "trx": TrxReader,
    "ctrf": CtrfReader,
    "gotest": GoTestReader,
}


class _Prefixed(io.RawIOBase):
    """Give back `head` (bytes already read for sniffing), then the rest of `stream`."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_reader(stream: BinaryIO, limits: ReportLimits = ReportLimits()):  # noqa: B008
    """Return a reader of the report in `stream` (decompressed), chosen by sniffing."""
    head = b""
    name = None
    while name is None:
        chunk = stream.read(CHUNK)
        head += chunk
        complete = not chunk
        # A root element may follow a long prolog (comments): read on until it is seen.
        undecided = "junit" if complete or len(head) >= MAX_PROLOG else None
        name = sniff(head, complete=complete and len(head) < CHUNK, undecided=undecided)
    return READERS[name](io.BufferedReader(_Prefixed(head, stream), CHUNK), limits)


__all__ = ["ACCEPTED", "FORMATS", "READERS", "JUnitError", "open_reader", "sniff"]
