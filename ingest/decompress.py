"""Open an uploaded report as a capped stream of XML bytes, gunzipping lazily."""

import gzip
import io
import zlib
from typing import BinaryIO

from ingest.junit import JUnitError

GZIP_MAGIC = b"\x1f\x8b"
_BUFFER = 64 * 1024


class _Prefixed(io.RawIOBase):
    """Give back `prefix` (bytes already read for sniffing), then the rest of `raw`."""

    def __init__(self, prefix: bytes, raw: BinaryIO) -> None:
        self._prefix = prefix
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            size = min(len(buffer), len(self._prefix))
            buffer[:size] = self._prefix[:size]
            self._prefix = self._prefix[size:]
            return size
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Capped(io.RawIOBase):
    """Read at most `limit` bytes from `inner`; reading past it raises JUnitError."""

    def __init__(self, inner: BinaryIO, limit: int, compressed: bool) -> None:
        self._inner = inner
        self._left = limit
        self._limit = limit
        self._compressed = compressed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            # Ask for one byte more than allowed to notice an oversized report without
            # ever decompressing much beyond the limit.
            data = self._inner.read(min(len(buffer), self._left + 1))
        except (OSError, EOFError, zlib.error) as exc:
            if not self._compressed:
                raise
            raise JUnitError(
                "malformed", f"the gzip data is corrupt or truncated ({exc})"
            ) from None
        if len(data) > self._left:
            after = " after decompression" if self._compressed else ""
            raise JUnitError("too_large", f"the report is larger than {self._limit} bytes{after}")
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def open_report(raw: BinaryIO, *, max_decompressed_bytes: int) -> BinaryIO:
    """Return a readable binary stream of the report's XML, capped in size.

    gzip is recognised by its magic bytes (never by file name) and decompressed lazily;
    reading more than `max_decompressed_bytes` raises JUnitError("too_large"). Corrupt
    gzip data raises JUnitError("malformed") when read.
    """
    magic = raw.read(2)
    while len(magic) < 2:
        more = raw.read(2 - len(magic))
        if not more:
            break
        magic += more
    source: BinaryIO = _Prefixed(magic, raw)  # type: ignore[assignment]
    compressed = magic == GZIP_MAGIC
    if compressed:
        source = gzip.GzipFile(fileobj=source, mode="rb")
    capped = _Capped(source, max_decompressed_bytes, compressed)
    return io.BufferedReader(capped, _BUFFER)
