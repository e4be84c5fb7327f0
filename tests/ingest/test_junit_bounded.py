"""Hostile sizes are read with bounded memory: floods cost time (capped), long text is cut."""

import io

import pytest
from lxml import etree

from ingest.junit import JUnitError, ReportLimits, ReportReader
from ingest.junit.events import CdataSplitter, splittable


def read(data: bytes, limits: ReportLimits | None = None) -> tuple[list, ReportReader]:
    reader = ReportReader(io.BytesIO(data), limits or ReportLimits())
    return list(reader), reader


def test_an_element_flood_is_read_within_the_element_limit():
    data = b"<testsuite>" + b"<x/>" * 100_000 + b'<testcase name="only"/></testsuite>'
    records, _reader = read(data)
    assert [r.name for r in records] == ["only"]


def test_an_element_flood_beyond_the_limit_is_refused_clearly():
    data = b"<testsuite>" + b"<x/>" * 1000 + b'<testcase name="only"/></testsuite>'
    with pytest.raises(JUnitError) as caught:
        read(data, ReportLimits(max_elements=500))
    assert caught.value.code == "too_many_elements"
    assert "500" in caught.value.detail and "PASSLINE_MAX_ELEMENTS" in caught.value.detail


def test_a_text_node_beyond_libxml2s_10_mb_is_cut_and_the_results_kept():
    out = b"log line\n" * (12 * 1024 * 1024 // 9)
    data = (
        b'<testsuite><testcase name="chatty"><system-out>' + out + b"</system-out>"
        b'<failure message="boom">trace</failure></testcase><testcase name="next"/></testsuite>'
    )
    records, reader = read(data)
    assert [(r.name, r.outcome) for r in records] == [("chatty", "failed"), ("next", "passed")]
    assert records[0].message == "boom\ntrace"
    assert any("system-out" in w and "PASSLINE_MAX_TEXT_BYTES" in w for w in reader.warnings)


def test_a_cdata_section_beyond_libxml2s_10_mb_is_split_and_read():
    out = b"x" * (11 * 1024 * 1024)
    data = (
        b'<testsuite><testcase name="a"><failure><![CDATA[' + out + b"]]></failure></testcase>"
        b'<testcase name="b"/></testsuite>'
    )
    records, _reader = read(data, ReportLimits(max_message_length=50))
    assert [r.name for r in records] == ["a", "b"]
    assert records[0].message == "x" * 49 + "…"


def feed_all(splitter: CdataSplitter, data: bytes, step: int) -> bytes:
    out = [splitter.feed(data[i : i + step]) for i in range(0, len(data), step)]
    return b"".join(out) + splitter.flush()


@pytest.mark.parametrize("step", [1, 7, 100, 100_000])
def test_splitting_keeps_the_text_and_never_cuts_a_character(step):
    text = ("é🐍a" * 500).encode()
    data = b"<r><!-- <![CDATA[ --><a><![CDATA[" + text + b"]]></a><b><![CDATA[short]]></b></r>"
    splitter = CdataSplitter(100)
    rewritten = feed_all(splitter, data, step)
    assert splitter.splits >= len(text) // 104  # sections of at most 100 + 3 bytes
    root = etree.fromstring(rewritten)
    assert root.find("a").text.encode() == text
    assert root.find("b").text == "short"


def test_utf16_and_multibyte_documents_are_not_scanned_as_ascii():
    assert splittable(b'<?xml version="1.0" encoding="UTF-8"?><a/>')
    assert splittable(b"\xef\xbb\xbf<a/>")
    assert splittable(b"<a/>")
    assert not splittable("<a/>".encode("utf-16"))
    assert not splittable(b'<?xml version="1.0" encoding="Shift_JIS"?><a/>')
