"""Tell a report's format from its first bytes (root element or JSON shape), never its name.

XML: the root element, checked with the same hardened parser as the readers (a DOCTYPE
is refused). JSON: a first line that is a test2json event is `go test -json`; an
object whose "results" object holds "tool", "summary" or "tests" is CTRF.
"""

import io
import json

import ijson
from lxml import etree

from ingest.junit.model import JUnitError
from ingest.junit.prolog import (
    CHUNK,
    PARSER_OPTIONS,
    RefuseResolver,
    has_doctype,
    is_blank,
    local_name,
    syntax_error,
)

from .trx import NAMESPACE as TRX_NAMESPACE

FORMATS = {
    "junit": "JUnit XML (<testsuites> or <testsuite>)",
    "nunit3": "NUnit 3 (<test-run>)",
    "nunit2": "NUnit 2 (<test-results>)",
    "xunit": "xUnit.net v2 (<assemblies>) or v1 (<assembly>)",
    "trx": "VSTest TRX (<TestRun> in the TeamTest/2010 namespace)",
    "ctrf": 'CTRF JSON ({"results": {"tool", "summary", "tests"}})',
    "gotest": "go test -json (one test2json event a line)",
}
ACCEPTED = "; ".join(FORMATS.values())
_XML_ROOTS = {
    "testsuites": "junit",
    "testsuite": "junit",
    "test-run": "nunit3",
    "test-results": "nunit2",
    "assemblies": "xunit",
    "assembly": "xunit",
}
_CTRF_KEYS = frozenset({"tool", "summary", "tests"})


def _unknown(what: str) -> JUnitError:
    return JUnitError("not_junit", f"{what} is not a test report passline reads ({ACCEPTED})")


def _text_start(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()


def sniff(head: bytes, *, complete: bool = False, undecided: str | None = "junit") -> str | None:
    """Return the format name (a key of FORMATS) of a report from its first bytes.

    `head` is already decompressed. Raise JUnitError: "empty", "malformed",
    "doctype_forbidden", or "not_junit" (none of the accepted formats; the detail lists
    them). A head cut anywhere in a valid report passes; with `complete=True` (`head`
    is the whole report) a truncated one is refused as well. An XML head that ends
    before its root element (a long comment) returns `undecided`.
    """
    if is_blank(head) and (complete or len(head) < CHUNK):
        raise JUnitError("empty", "the report is empty (no content)")
    if _text_start(head)[:1] in (b"{", b"["):
        return _sniff_json(_text_start(head), complete=complete) or undecided
    return _sniff_xml(head, complete=complete) or undecided


def _sniff_xml(head: bytes, *, complete: bool) -> str | None:
    parser = etree.XMLPullParser(events=("start",), **PARSER_OPTIONS)
    parser.resolvers.add(RefuseResolver())
    found = None
    try:
        parser.feed(head)
        for _event, element in parser.read_events():
            found = _xml_format(element)
            break
        if complete:
            parser.close()
    except etree.XMLSyntaxError as exc:
        if has_doctype(head):
            raise JUnitError("doctype_forbidden", "a DOCTYPE is not allowed in a report") from None
        raise syntax_error(exc) from None
    return found


def _xml_format(root: etree._Element) -> str:
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url:
        raise JUnitError(
            "doctype_forbidden", f"a DOCTYPE ({docinfo.doctype[:80]}) is not allowed in a report"
        )
    tag = root.tag if isinstance(root.tag, str) else "?"
    name = local_name(tag)
    if name == "TestRun" and tag.startswith("{"):
        if tag[1:].partition("}")[0] == TRX_NAMESPACE:
            return "trx"
    elif name in _XML_ROOTS:
        return _XML_ROOTS[name]
    raise _unknown(f"line {root.sourceline}: the root element <{name}>")


def _sniff_json(text: bytes, *, complete: bool) -> str | None:
    first_line = text.split(b"\n", 1)[0]
    if b"\n" in text or complete:
        try:
            event = json.loads(first_line)
        except (ValueError, RecursionError):
            event = None
        if isinstance(event, dict) and isinstance(event.get("Action"), str):
            return "gotest"
    ctrf = _looks_like_ctrf(text, complete=complete) if text[:1] == b"{" else False
    if ctrf is None:
        return None  # the head ends before "results" shows its keys
    if ctrf:
        if complete:
            try:
                json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise JUnitError("malformed", f"the JSON is not well-formed: {exc}") from None
        return "ctrf"
    raise _unknown("this JSON document")


def _looks_like_ctrf(text: bytes, *, complete: bool) -> bool | None:
    """Tell whether the top-level object has a "results" object with CTRF keys.

    None when a cut head ends before that can be told (a long "extra" object first).
    """
    keys: set[str] = set()
    in_results = False
    cut_short = False
    try:
        for prefix, event, value in ijson.parse(io.BytesIO(text)):
            if prefix == "" and event == "map_key" and value != "results" and in_results:
                break
            if prefix == "results" and event == "start_map":
                in_results = True
            elif prefix == "results" and event == "map_key":
                keys.add(value)
            elif prefix == "results" and event == "end_map":
                break
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        # Judged by the keys seen before the error; json.loads checks a whole head.
        cut_short = "premature EOF" in str(exc)
    if cut_short and not complete and not keys:
        return None
    if complete:
        return keys >= _CTRF_KEYS
    return bool(keys & _CTRF_KEYS)
