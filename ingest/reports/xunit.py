"""Read xUnit.net XML, v2 (<assemblies>) and v1 (<assembly>), into CaseRecords.

v2 nests <test> in <collection> in <assembly> in <assemblies>; v1 nests <test> in
<class> in <assembly>. Each <test> is one record: a theory's data rows are separate
<test> elements whose names carry the arguments. classname is the test's `type`, and
its name is the `name` without the "type." prefix xUnit.net writes by default.
"""

from .common import basename, join_message
from .xmlbase import FormatTarget, XmlFormatReader

_OUTCOMES = {"pass": "passed", "fail": "failed", "skip": "skipped", "notrun": "skipped"}
_ROOTS = ("assemblies", "assembly")


class XUnitTarget(FormatTarget):
    """Parser target for xUnit.net v1 and v2 XML."""

    format_name = "xUnit.net"

    def __init__(self, limits, warnings) -> None:
        super().__init__(limits, warnings)
        self._assembly = ""
        self._case: dict | None = None
        self._case_depth = 0
        self._child = ""
        self._texts: dict[str, str] = {}
        self._text_kind = ""

    def start(self, tag: str, attrib) -> None:
        self.elements += 1
        depth = self.depth = self.depth + 1
        if self.elements > self.max_elements or depth > self.max_depth:
            self.depth -= 1
            self.enter()  # raises the right JUnitError
        name = tag.rpartition("}")[2]
        if depth == 1 and name not in _ROOTS:
            raise self.not_root(tag, "<assemblies> or <assembly>")
        case = self._case
        if case is not None:
            kind = ""
            if depth == self._case_depth + 1:
                self._child = name
                kind = "reason" if name == "reason" else ""
            elif depth == self._case_depth + 2 and self._child in ("failure", "reason"):
                kind = name if name in ("message", "stack-trace") else ""
            if kind:
                self._text_kind = kind
                self.capture(self.limits.max_message_length + 1)
            return
        if name == "test":
            self._case = attrib  # a fresh dict from lxml for each element
            self._case_depth = depth
            self._child = ""
            self._texts = {}
        elif name == "assembly":
            self._assembly = basename(attrib.get("name"))
            if attrib.get("run-date"):
                run_time = attrib.get("run-time") or "00:00:00"
                self.note_timestamp(f"{attrib.get('run-date')}T{run_time}")

    def end(self, tag: str) -> None:
        depth = self.depth
        self.depth = depth - 1
        if self._long_text:
            self.long_text_seen(tag)
        if self._case is None:
            return
        if depth == self._case_depth:
            self._case_end()
        elif self._text_kind and depth == self._case_depth + (
            1 if self._text_kind == "reason" else 2
        ):
            text = self.captured()
            # <reason><message> (v2 writes the reason as plain text or inside <message>).
            self._texts.setdefault(self._text_kind, text)
            self._text_kind = ""

    def _case_end(self) -> None:
        attrs, self._case = self._case, None
        result = (attrs.get("result") or "").lower()
        outcome = _OUTCOMES.get(result)
        if outcome is None:
            self.warnings.add(
                "xunit:result",
                f"xUnit.net result {attrs.get('result')!r} is not known; counted as an error",
            )
            outcome = "error"
        classname = attrs.get("type") or ""
        name = attrs.get("name") or attrs.get("method") or ""
        if classname and name.startswith(classname + "."):
            name = name[len(classname) + 1 :]
        texts = self._texts
        message = join_message(texts.get("message"), texts.get("stack-trace"))
        if not message:
            message = join_message(texts.get("reason"))
        self.emit(
            classname=classname,
            name=name,
            outcome=outcome,
            duration=self.recorder.seconds(attrs.get("time") or "0"),
            message=message,
            suite=self._assembly,
        )


class XUnitReader(XmlFormatReader):
    """Iterate the CaseRecords of an xUnit.net v1 or v2 XML report."""

    format = "xunit"

    def make_target(self, limits, warnings) -> XUnitTarget:
        return XUnitTarget(limits, warnings)
