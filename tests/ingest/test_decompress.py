"""Capped, lazy gunzip of uploaded reports."""

import gzip
import io

import pytest

from ingest.decompress import open_report
from ingest.junit import JUnitError, ReportReader

REPORT = b'<testsuite name="s"><testcase name="a"/><testcase name="b"/></testsuite>'


class CountingStream(io.RawIOBase):
    """A non-seekable upload body that records how many bytes were read from it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.consumed += len(chunk)
        return len(chunk)


def test_plain_xml_passes_through():
    stream = open_report(io.BytesIO(REPORT), max_decompressed_bytes=1000)
    assert stream.read() == REPORT


def test_gzip_is_detected_by_magic_bytes_and_decompressed():
    stream = open_report(io.BytesIO(gzip.compress(REPORT)), max_decompressed_bytes=1000)
    assert [r.name for r in ReportReader(stream)] == ["a", "b"]


def test_concatenated_gzip_members_are_read_in_full():
    data = gzip.compress(REPORT[:30]) + gzip.compress(REPORT[30:])
    assert open_report(io.BytesIO(data), max_decompressed_bytes=1000).read() == REPORT


def test_report_of_exactly_the_limit_is_accepted():
    stream = open_report(io.BytesIO(REPORT), max_decompressed_bytes=len(REPORT))
    assert stream.read() == REPORT


def test_plain_report_over_the_limit_is_refused():
    stream = open_report(io.BytesIO(REPORT), max_decompressed_bytes=len(REPORT) - 1)
    with pytest.raises(JUnitError) as caught:
        stream.read()
    assert caught.value.code == "too_large"


def test_gzip_bomb_is_refused_without_expanding_it():
    limit = 1024 * 1024
    member = gzip.compress(b" " * limit, compresslevel=9)  # about 1 KiB each
    body = gzip.compress(b"<testsuite>") + member * 1024
    assert len(body) < 2 * 1024 * 1024  # a small upload that expands to 1 GiB
    raw = CountingStream(body)
    stream = open_report(raw, max_decompressed_bytes=limit)
    with pytest.raises(JUnitError) as caught:
        for _record in ReportReader(stream):
            pass
    assert caught.value.code == "too_large"
    assert "after decompression" in caught.value.detail
    # Decompression stopped near the limit, long before the end of the body.
    assert raw.consumed < len(body) // 4


def test_corrupt_gzip_is_malformed():
    data = gzip.compress(REPORT)
    broken = data[:10] + b"\x00garbage\xff" * 5 + data[-8:]
    stream = open_report(io.BytesIO(broken), max_decompressed_bytes=1000)
    with pytest.raises(JUnitError) as caught:
        stream.read()
    assert caught.value.code == "malformed"
    assert "gzip" in caught.value.detail


def test_truncated_gzip_is_malformed():
    data = gzip.compress(REPORT * 50)
    stream = open_report(io.BytesIO(data[: len(data) // 2]), max_decompressed_bytes=10**6)
    with pytest.raises(JUnitError) as caught:
        stream.read()
    assert caught.value.code == "malformed"


def test_tiny_and_empty_bodies_pass_through():
    assert open_report(io.BytesIO(b""), max_decompressed_bytes=10).read() == b""
    assert open_report(io.BytesIO(b"<"), max_decompressed_bytes=10).read() == b"<"
