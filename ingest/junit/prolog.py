"""What every XML reader shares: parser options, positions of errors, DOCTYPE and blanks.

Used by the parser-target driver (events.py) and the format sniffing at intake
(ingest.reports.sniff).
"""

import re

from lxml import etree

from .model import JUnitError

PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
ROOTS = ("testsuites", "testsuite")
CHUNK = 64 * 1024


def local_name(tag: str) -> str:
    """Return `tag` without its "{namespace}" prefix."""
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag


class RefuseResolver(etree.Resolver):
    """Answer every external entity or DTD request with nothing (defence in depth)."""

    def resolve(self, system_url, public_id, context):
        return self.resolve_string("", context)


def syntax_error(exc: etree.XMLSyntaxError) -> JUnitError:
    line, column = exc.position if exc.position else (exc.lineno, None)
    message = exc.msg or str(exc)
    # libxml2 appends its own position; keep one.
    message = message.split(", line ")[0]
    if message == "Unregistered error message":
        # libxml2 2.14 says this when the input ends inside CDATA or a comment.
        message = "the document ends unexpectedly (truncated report?)"
    if "Excessive depth" in message:
        return JUnitError(
            "too_deep",
            f"line {line}, column {column}: elements are nested more than 256 deep",
            line,
            column,
        )
    return JUnitError(
        "malformed", f"line {line}, column {column}: {message} (not well-formed XML)", line, column
    )


_FIRST_ELEMENT = (re.compile(rb"<[A-Za-z_:]"), re.compile(rb"<\x00[A-Za-z_:]\x00"))
_DOCTYPE = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"))


def has_doctype(data: bytes) -> bool:
    """Tell whether a DOCTYPE precedes the first start tag (UTF-8/ASCII or UTF-16 LE)."""
    for first_element, doctype in zip(_FIRST_ELEMENT, _DOCTYPE, strict=True):
        found = first_element.search(data)
        if doctype in (data[: found.start()] if found else data):
            return True
    return False


def is_blank(data: bytes) -> bool:
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if data.startswith(bom):
            data = data[len(bom) :]
            break
    return not data.replace(b"\x00", b"").strip()
