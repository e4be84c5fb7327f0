"""Stream an XML report through lxml's parser-target interface, with bounded memory.

No tree is built: libxml2 calls the target's start/end/data methods, and each reader
keeps only what it needs (the attributes of the open test, a capped message). An
element flood or a huge text therefore costs time, which `ReportLimits.max_elements`
bounds, but no memory. Text reaches Python in chunks of at most 64 KiB, except a CDATA
section, which libxml2 hands over whole (and refuses beyond 10 MB): `CdataSplitter`
rewrites a long section into adjacent sections of at most `max_text_bytes`, which the
XML infoset reads as the same text.
"""

import re
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from .model import CaseRecord, JUnitError, ReportLimits
from .prolog import CHUNK, PARSER_OPTIONS, RefuseResolver, has_doctype, is_blank, syntax_error
from .values import Warnings

# A DOCTYPE is refused by the target's doctype() before any declaration is read, so no
# entity can ever be declared; "internal" only decodes &amp; and character references in
# attribute values (with False, libxml2 hands targets "&#38;" for "&amp;").
TARGET_PARSER_OPTIONS = {**PARSER_OPTIONS, "resolve_entities": "internal"}
LONG_TEXT = 4096  # data() chunks at least this long count towards the long-text warning
_OPENERS = re.compile(rb"<!\[CDATA\[|<!--")
_SPLIT = b"]]><![CDATA["
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_SAFE_ENCODINGS = re.compile(r"(utf-?8|us-ascii|ascii|iso-?8859-\d+|latin-?\d|windows-125\d)$")


def local_name(tag: str) -> str:
    """Return `tag` without its "{namespace}" prefix."""
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag


def splittable(head: bytes) -> bool:
    """Tell whether bytes of this document can be scanned for CDATA as ASCII.

    True for UTF-8 (with or without BOM) and single-byte encodings; False for UTF-16/32
    and multi-byte legacy encodings, where a "]" byte may be half of a character.
    """
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        return False
    match = _ENCODING.match(head.removeprefix(b"\xef\xbb\xbf"))
    return match is None or bool(_SAFE_ENCODINGS.match(match.group(1).decode().lower()))


class CdataSplitter:
    """Rewrite CDATA sections longer than `limit` bytes as several adjacent sections.

    Feed consecutive chunks of a UTF-8 (or single-byte) document; each call returns the
    bytes to hand the parser. Comments are skipped over so that "<![CDATA[" inside one
    is not taken for a section. A split never falls inside a UTF-8 character.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 64)
        self.splits = 0
        self._end: bytes | None = None  # b"]]>" inside CDATA, b"-->" inside a comment
        self._run = 0
        self._carry = b""

    def feed(self, chunk: bytes) -> bytes:
        buf = self._carry + chunk if self._carry else chunk
        self._carry = b""
        out: list[bytes] = []
        pos, size = 0, len(buf)
        while pos < size:
            if self._end is None:
                found = _OPENERS.search(buf, pos)
                if found is None:
                    # Keep a possible partial opener ("<![CDA") for the next chunk.
                    cut = buf.rfind(b"<", max(pos, size - 8))
                    cut = size if cut < 0 else cut
                    out.append(buf[pos:cut])
                    self._carry = buf[cut:]
                    break
                out.append(buf[pos : found.end()])
                pos = found.end()
                self._end = b"]]>" if found.group() == b"<![CDATA[" else b"-->"
                self._run = 0
                continue
            end = buf.find(self._end, pos)
            stop = end if end >= 0 else max(pos, size - 2)  # a terminator may straddle
            if self._end == b"]]>":
                while self._run + stop - pos > self.limit:
                    cut = pos + max(0, self.limit - self._run)
                    while cut < stop and 0x80 <= buf[cut] < 0xC0:
                        cut += 1  # never split a UTF-8 character
                    if cut >= stop:
                        break
                    out.append(buf[pos:cut])
                    out.append(_SPLIT)
                    self.splits += 1
                    pos, self._run = cut, 0
                self._run += stop - pos
            out.append(buf[pos:stop])
            pos = stop
            if end < 0:
                self._carry = buf[pos:]
                break
            out.append(self._end)
            pos = end + 3
            self._end = None
        return b"".join(out)

    def flush(self) -> bytes:
        carry, self._carry = self._carry, b""
        return carry


class ReportTarget:
    """Shared bookkeeping of the XML readers' parser targets.

    Subclasses implement start(tag, attrib) and end(tag) and call `enter()` and
    `leave()` (or inline them); they append CaseRecords to `records`. Text is kept only
    between `capture()` and `captured()`, up to `limit` characters.
    """

    format_name = "XML"

    def __init__(self, limits: ReportLimits, warnings: Warnings) -> None:
        self.limits = limits
        self.warnings = warnings
        self.records: list[CaseRecord] = []
        self.depth = 0
        self.elements = 0
        self.testcases = 0
        self.timestamp = None
        self._capture: list[str] | None = None
        self._room = 0
        self._long_text = 0
        self.max_elements = limits.max_elements
        self.max_depth = limits.max_depth

    # lxml target interface -------------------------------------------------------------

    def doctype(self, name, public_id, system_url) -> None:
        raise JUnitError(
            "doctype_forbidden", f"a DOCTYPE is not allowed in a {self.format_name} report"
        )

    def data(self, text: str) -> None:
        if self._capture is not None and self._room > 0:
            piece = text[: self._room]
            self._capture.append(piece)
            self._room -= len(piece)
        if len(text) >= LONG_TEXT:
            self._long_text += len(text)

    def close(self) -> None:
        return None

    # helpers ---------------------------------------------------------------------------

    def enter(self) -> None:
        """Count one started element; refuse an element flood or too deep nesting."""
        self.elements += 1
        self.depth += 1
        if self.elements > self.limits.max_elements:
            raise JUnitError(
                "too_many_elements",
                f"more than {self.limits.max_elements} XML elements in one report "
                "(PASSLINE_MAX_ELEMENTS)",
            )
        if self.depth > self.limits.max_depth:
            raise JUnitError(
                "too_deep",
                f"elements are nested {self.depth} deep, more than the limit of "
                f"{self.limits.max_depth}",
            )

    def leave(self, tag: str) -> None:
        self.depth -= 1
        if self._long_text:
            self.long_text_seen(tag)

    def long_text_seen(self, tag: str) -> None:
        size, self._long_text = self._long_text, 0
        limit = self.limits.max_text_bytes
        if size > limit:
            self.warnings.add(
                "text:long",
                f"<{local_name(tag)}> held {size:,} characters of text, more than "
                f"{limit:,} (PASSLINE_MAX_TEXT_BYTES): it was cut while reading and the "
                "results kept",
            )

    def capture(self, limit: int) -> None:
        self._capture = []
        self._room = limit

    def captured(self) -> str:
        text = "".join(self._capture or ())
        self._capture = None
        return text

    def testcase_seen(self) -> None:
        self.testcases += 1
        if self.testcases > self.limits.max_testcases:
            raise JUnitError(
                "too_many_testcases",
                f"more than {self.limits.max_testcases} testcases in one report",
            )

    def not_root(self, tag: str, expected: str) -> JUnitError:
        return JUnitError(
            "not_junit",
            f"root element <{local_name(tag)}> is not {expected}, so this is not a "
            f"{self.format_name} report",
        )


def parse_events(stream: BinaryIO, target: ReportTarget) -> Iterator[CaseRecord]:
    """Feed `stream` to `target` in 64 KiB chunks; yield its records as they appear."""
    parser = etree.XMLParser(target=target, **TARGET_PARSER_OPTIONS)
    parser.resolvers.add(RefuseResolver())
    records = target.records
    head = stream.read(CHUNK)
    prefix = head
    blank = is_blank(head)
    splitter = CdataSplitter(target.limits.max_text_bytes) if splittable(head) else None
    chunk = head
    try:
        while chunk:
            parser.feed(splitter.feed(chunk) if splitter else chunk)
            if records:
                yield from records
                records.clear()
            chunk = stream.read(CHUNK)
            if blank and chunk:
                blank = is_blank(chunk)
                prefix = (prefix + chunk)[:CHUNK]
        if blank:
            raise JUnitError("empty", "the report is empty (no XML content)")
        if splitter:
            parser.feed(splitter.flush())
        parser.close()
    except etree.XMLSyntaxError as exc:
        if has_doctype(prefix):
            raise JUnitError("doctype_forbidden", "a DOCTYPE is not allowed in a report") from None
        raise syntax_error(exc) from None
    if target.depth == 0 and target.elements == 0:
        raise JUnitError("malformed", "the report has no root element")
    yield from records
    records.clear()
