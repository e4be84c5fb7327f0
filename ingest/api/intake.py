"""Read upload request bodies safely: capped, counted and checked before storing.

Sizes are enforced three times: the declared Content-Length before any byte is read,
the bytes actually read (a body may be chunked or lie about its length), and the size
of each gzip report after decompression (a gzip bomb is refused, never expanded in
memory: it is decompressed in 64 KiB chunks and abandoned at the limit).
"""

import hashlib
import tempfile
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)

from ingest.api_errors import BadRequest, LengthRequired, NotJUnit, PayloadTooLarge
from ingest.decompress import GZIP_MAGIC, open_report
from ingest.junit import JUnitError
from ingest.reports import sniff
from ingest.services.uploads import IncomingReport

HEAD_BYTES = 64 * 1024
_CHUNK = 64 * 1024
RAW_TYPES = {
    "application/xml": "report.xml",
    "text/xml": "report.xml",
    "application/gzip": "report.xml.gz",
    "application/x-gzip": "report.xml.gz",
    # CTRF and go test -json; the format is sniffed from the content either way.
    "application/json": "report.json",
    "application/x-ndjson": "report.json",
}


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The upload is larger than the limit of {limit} bytes (PASSLINE_MAX_UPLOAD_BYTES)."
    )


def check_declared_length(meta: dict) -> None:
    """Refuse a body whose declared Content-Length is over the limit, before reading it."""
    limit = settings.PASSLINE_MAX_UPLOAD_BYTES
    declared = meta.get("CONTENT_LENGTH") or ""
    if not declared:
        # Django's WSGI handler reads a body without Content-Length as empty; say so
        # instead of calling the report empty.
        if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
            raise LengthRequired()
        return
    try:
        length = int(declared)
    except ValueError:
        raise BadRequest("The Content-Length header is not a number.") from None
    if length < 0:
        raise BadRequest("The Content-Length header is negative.")
    if length > limit:
        raise _too_large(limit)


class LimitingUploadHandler(FileUploadHandler):
    """Count multipart files and bytes; refuse the request as soon as a limit is passed."""

    def __init__(self, request=None):
        super().__init__(request)
        self.total = 0
        self.files = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.files += 1
        limit = settings.PASSLINE_MAX_FILES_PER_UPLOAD
        if self.files > limit:
            raise PayloadTooLarge(
                f"The upload has more than {limit} files (PASSLINE_MAX_FILES_PER_UPLOAD); "
                "split it into several uploads with the same run."
            )

    def receive_data_chunk(self, raw_data, start):
        self.total += len(raw_data)
        if self.total > settings.PASSLINE_MAX_UPLOAD_BYTES:
            raise _too_large(settings.PASSLINE_MAX_UPLOAD_BYTES)
        return raw_data

    def file_complete(self, file_size):
        return None


def multipart_files(request) -> list:
    """Parse a multipart upload (a DRF request) under the limits; return its `file` parts.

    Django's own form limits (field count and size, DATA_UPLOAD_MAX_*) answer with the
    same JSON errors as passline's instead of an HTML 400 page.
    """
    django_request = request._request
    django_request.upload_handlers = [
        LimitingUploadHandler(django_request),
        MemoryFileUploadHandler(django_request),
        TemporaryFileUploadHandler(django_request),
    ]
    try:
        return request.FILES.getlist("file")
    except (RequestDataTooBig, TooManyFilesSent) as exc:
        raise PayloadTooLarge(f"The form is too large: {exc}") from None
    except TooManyFieldsSent as exc:
        raise BadRequest(f"The form has too many fields: {exc}") from None


def read_raw_body(django_request, content_type: str) -> IncomingReport:
    """Spool a raw XML or gzip body to a temporary file, counting and hashing it."""
    limit = settings.PASSLINE_MAX_UPLOAD_BYTES
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed with the request)
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    digest = hashlib.sha256()
    size = 0
    while chunk := django_request.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            spool.close()
            raise _too_large(limit)
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    return IncomingReport(
        filename=RAW_TYPES[content_type],
        content_type=content_type,
        stream=spool,
        size=size,
        sha256=digest.hexdigest(),
    )


def report_from_upload(uploaded) -> IncomingReport:
    """Wrap a Django UploadedFile as an IncomingReport."""
    return IncomingReport(
        filename=(uploaded.name or "report.xml")[:500],
        content_type=(uploaded.content_type or "")[:100],
        stream=uploaded.file,
        size=uploaded.size,
    )


def check_report(report: IncomingReport) -> None:
    """Refuse a report of no accepted format (422) or too large unpacked (413).

    Read the first 64 KiB to sniff the format (ingest.reports.sniff: root element or
    JSON shape, never the file name); a gzip report is then read to its
    end (streamed, capped at PASSLINE_MAX_DECOMPRESSED_BYTES) so that a bomb is refused
    now rather than failing later in the worker.
    """
    stream: BinaryIO = report.stream
    stream.seek(0)
    limit = settings.PASSLINE_MAX_DECOMPRESSED_BYTES
    is_gzip = stream.read(2) == GZIP_MAGIC
    stream.seek(0)
    try:
        reader = open_report(stream, max_decompressed_bytes=limit)
        head = reader.read(HEAD_BYTES)
        sniff(head, complete=len(head) < HEAD_BYTES)
        if is_gzip:
            while reader.read(_CHUNK):
                pass
    except JUnitError as exc:
        raise _refusal(report, exc) from None
    finally:
        stream.seek(0)


def _refusal(report: IncomingReport, exc: JUnitError):
    name = report.filename or "the report"
    if exc.code == "too_large":
        return PayloadTooLarge(
            f"{name}: {exc.detail} (PASSLINE_MAX_DECOMPRESSED_BYTES); it was not expanded."
        )
    where = ""
    if exc.line is not None and f"line {exc.line}" not in exc.detail:
        where = f" at line {exc.line}" + (f", column {exc.column}" if exc.column else "")
    return NotJUnit(f"{name} was refused{where}: {exc.detail}")
