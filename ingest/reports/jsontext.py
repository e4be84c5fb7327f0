"""Cut over-long JSON strings while streaming, so no JSON parser ever holds one whole.

A JSON parser (yajl under ijson, or the json module on one line) keeps each string
token whole in memory. `JsonStringCutter` sits between the report bytes and the parser:
it scans 64 KiB chunks with one possessive regular expression (C speed, no Python per
token) and, when a string is still open after `limit` bytes, keeps its first `limit`
bytes (whole characters and escapes), closes it with "…" and drops the rest up to its
closing quote. A string that opens and closes within one buffer is passed whole, so the
longest string a parser sees is `limit` + 64 KiB. The document stays valid JSON.
"""

import io
import re
from typing import BinaryIO

CHUNK = 64 * 1024
# Complete tokens: runs outside strings, and whole strings; stops at an open string.
_TOKENS = re.compile(rb'(?:[^"]++|"(?:[^"\\]++|\\[\s\S])*+")*+')
# The inside of a string up to (not including) its closing quote or a final lone "\".
_STRING_BODY = re.compile(rb'(?:[^"\\]++|\\[\s\S])*+')
# Whole characters or escapes of a string's inside (never half of "\u00e9").
UNITS = re.compile(rb"(?:[^\\]|\\u[0-9A-Fa-f]{4}|\\[^u])*+")
_CUT_MARK = b'\\u2026"'
# The escaped first half of a UTF-16 surrogate pair, as the last unit kept.
_HIGH_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}\Z")
_BACKSLASHES_QUOTE = re.compile(rb'(\\+)"')


def ends_outside_strings(buf: bytes) -> bool:
    """Tell whether JSON text that starts outside any string also ends outside one.

    Counts the quotes that are not escaped (a quote after an odd run of backslashes is);
    C-speed `count`, with a regex only over the few backslash-quote pairs.
    """
    quotes = buf.count(b'"')
    if quotes and b'\\"' in buf:
        if b'\\\\"' in buf:  # a backslash run of two or more before a quote: count runs
            quotes -= sum(len(run) % 2 for run in _BACKSLASHES_QUOTE.findall(buf))
        else:
            quotes -= buf.count(b'\\"')
    return quotes % 2 == 0


def utf8_boundary(buf: bytes, start: int, end: int) -> int:
    """Return `end`, or less, so that buf[start:end] does not end inside a UTF-8 character."""
    for back in range(1, 4):
        index = end - back
        if index < start:
            break
        byte = buf[index]
        if byte < 0x80:
            return end
        if byte >= 0xC0:  # the lead byte of the last character
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return end if index + length <= end else index
    return end


def last_unescaped_quote(buf: bytes) -> int:
    """Return the index of the last quote in `buf` not escaped by a backslash (or -1)."""
    index = buf.rfind(b'"')
    while index > 0:
        start = index
        while start > 0 and buf[start - 1] == 0x5C:  # backslash
            start -= 1
        if (index - start) % 2 == 0:
            return index
        index = buf.rfind(b'"', 0, start)
    return index


class JsonStringCutter(io.RawIOBase):
    """A readable binary stream: `raw`'s JSON with every over-long string cut short."""

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        super().__init__()
        self._raw = raw
        self.limit = max(limit, 16)
        self.cut = 0  # strings cut so far
        self._pending = b""  # an open string shorter than the limit, not yet passed on
        self._skipping = False  # inside a cut string: drop bytes up to its closing quote
        self._escaped = False  # skipping, and the last byte dropped was a lone backslash
        self._out = b""
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson probes the stream's type with read(0)
        want = size if size and size > 0 else CHUNK
        while len(self._out) < want and not self._eof:
            chunk = self._raw.read(CHUNK)
            if not chunk:
                self._eof = True
                self._out += self._pending  # an unterminated string: the parser says so
                self._pending = b""
                break
            self._out += self._process(chunk)
        data, self._out = self._out[:want], self._out[want:]
        return data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _process(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        if self._skipping:
            chunk = self._skip(chunk)
            if self._skipping:
                return b""
        buf = self._pending + chunk if self._pending else chunk
        # Fast path: buf starts outside any string (a pending string starts with its
        # quote); when it also ends outside, or its last string is open but still short,
        # no string in it can be over the limit: pass it on unscanned.
        if ends_outside_strings(buf):
            self._pending = b""
            return buf
        start = last_unescaped_quote(buf)
        if len(buf) - start <= self.limit:
            self._pending = buf[start:]
            return buf[:start]
        self._pending = b""
        while buf:
            end = _TOKENS.match(buf).end()
            if end == len(buf):
                out.append(buf)
                break
            # buf[end] opens a string that does not close within buf.
            if len(buf) - end <= self.limit:
                out.append(buf[:end])
                self._pending = buf[end:]
                break
            start = end + 1
            keep = UNITS.match(buf, start, start + self.limit).end()
            keep = utf8_boundary(buf, start, keep)  # never cut a UTF-8 character
            if _HIGH_SURROGATE.match(buf, max(start, keep - 6), keep):
                keep -= 6  # nor a "\ud83d\udc0d" pair
            out.append(buf[:keep])
            out.append(_CUT_MARK)
            self.cut += 1
            self._skipping = True
            buf = self._skip(buf[keep:])
            if self._skipping:
                break
        return b"".join(out)

    def _skip(self, data: bytes) -> bytes:
        """Drop the rest of a cut string; return what follows its closing quote."""
        pos = 0
        if self._escaped:
            pos, self._escaped = 1, False
            if not data:
                self._escaped = True
                return b""
        end = _STRING_BODY.match(data, pos).end()
        if end == len(data):
            return b""
        if data[end : end + 1] == b"\\":  # a lone backslash ends this chunk
            self._escaped = True
            return b""
        self._skipping = False
        return data[end + 1 :]
