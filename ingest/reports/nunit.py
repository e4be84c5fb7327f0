"""Read NUnit 3 (<test-run>) and NUnit 2 (<test-results>) XML into CaseRecords.

Both nest <test-case> elements in <test-suite> elements (Assembly, Namespace,
TestFixture, ParameterizedMethod, ...). Every <test-case> is one record, so each case of
a parameterised test is its own test (its name carries the arguments). A failure's
<message> and <stack-trace>, or a skip's <reason><message>, become the record's message.
See docs/formats.md for the outcome mapping and why.
"""

import re

from .common import basename, join_message
from .xmlbase import FormatTarget, XmlFormatReader

_NUNIT3 = {"passed": "passed", "failed": "failed", "skipped": "skipped", "warning": "passed"}
_NUNIT3["inconclusive"] = "skipped"
_NUNIT3_ERROR_LABELS = frozenset({"error", "invalid", "cancelled"})
_NUNIT2 = {
    "success": "passed",
    "failure": "failed",
    "error": "error",
    "notrunnable": "error",
    "cancelled": "error",
    "ignored": "skipped",
    "skipped": "skipped",
    "inconclusive": "skipped",
}
_NESTING = re.compile(r"[(<\[\"']")
_TEXT_PARENTS = frozenset({"failure", "reason"})


def nunit3_outcome(result: str | None, label: str | None) -> str | None:
    """Return the outcome of an NUnit 3 `result`/`label` pair, None when unknown."""
    result = (result or "").lower()
    # NotRunnable is label "Invalid" under result Failed (or Skipped in early NUnit 3).
    if result in ("failed", "skipped") and (label or "").lower() in _NUNIT3_ERROR_LABELS:
        return "error"
    return _NUNIT3.get(result)


def nunit2_outcome(result: str | None, executed: str | None, success: str | None) -> str:
    """Return the outcome of an NUnit 2 test-case from `result`, else executed/success."""
    outcome = _NUNIT2.get((result or "").lower())
    if outcome is not None:
        return outcome
    if (executed or "").lower() == "false":
        return "skipped"
    return "passed" if (success or "").lower() == "true" else "failed"


def split_full_name(full: str) -> tuple[str, str]:
    """Split a full test name at its last dot outside parentheses and quotes.

    "Ns.Class.Method(1.5, "a.b")" -> ("Ns.Class", "Method(1.5, "a.b")");
    "Ns.Fixture(42).Test1" -> ("Ns.Fixture(42)", "Test1").
    """
    if _NESTING.search(full) is None:
        classname, dot, method = full.rpartition(".")
        return (classname, method) if dot else ("", full)
    depth = 0
    quote = ""
    cut = -1
    for index, char in enumerate(full):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "(<[":
            depth += 1
        elif char in ")>]":
            depth = max(0, depth - 1)
        elif char == "." and depth == 0:
            cut = index
    if cut < 0:
        return "", full
    return full[:cut], full[cut + 1 :]


class NUnitTarget(FormatTarget):
    """Parser target for NUnit 3 (`version` 3) or NUnit 2 (`version` 2)."""

    def __init__(self, limits, warnings, version: int) -> None:
        super().__init__(limits, warnings)
        self.version = version
        self.root = "test-run" if version == 3 else "test-results"
        self.format_name = f"NUnit {version}"
        self._assembly = ""
        self._assemblies: list[str] = []
        self._case: dict | None = None
        self._case_depth = 0
        self._child = ""
        self._text_kind = ""
        self._message = ""
        self._trace = ""

    def start(self, tag: str, attrib) -> None:
        self.elements += 1
        depth = self.depth = self.depth + 1
        if self.elements > self.max_elements or depth > self.max_depth:
            self.depth -= 1
            self.enter()  # raises the right JUnitError
        name = tag.rpartition("}")[2]
        if depth == 1:
            if name != self.root:
                raise self.not_root(tag, f"<{self.root}>")
            if self.version == 3:
                self.note_timestamp(attrib.get("start-time"))
            elif attrib.get("date"):
                self.note_timestamp(f"{attrib.get('date')}T{attrib.get('time') or '00:00:00'}")
            return
        case = self._case
        if case is not None:
            if depth == self._case_depth + 1:
                self._child = name
            elif (
                depth == self._case_depth + 2
                and self._child in _TEXT_PARENTS
                and name in ("message", "stack-trace")
            ):
                self._text_kind = name
                self.capture(self.limits.max_message_length + 1)
            return
        if name == "test-case":
            self._case = attrib  # a fresh dict from lxml for each element
            self._case_depth = depth
            self._child = self._message = self._trace = ""
            if self.version == 3:
                self.note_timestamp(attrib.get("start-time"))
        elif name == "test-suite":
            self._assemblies.append(self._assembly)
            if (attrib.get("type") or "").lower() == "assembly":
                self._assembly = basename(attrib.get("name"))

    def end(self, tag: str) -> None:
        depth = self.depth
        self.depth = depth - 1
        if self._long_text:
            self.long_text_seen(tag)
        if self._case is None:
            if tag.endswith("test-suite") and self._assemblies:
                self._assembly = self._assemblies.pop()
            return
        if depth == self._case_depth:
            self._case_end()
        elif self._text_kind and depth == self._case_depth + 2:
            text = self.captured()
            if self._text_kind == "message":
                self._message = self._message or text
            else:
                self._trace = self._trace or text
            self._text_kind = ""

    def _case_end(self) -> None:
        attrs, self._case = self._case, None
        if self.version == 3:
            outcome = nunit3_outcome(attrs.get("result"), attrs.get("label"))
            name = attrs.get("name") or ""
            classname = attrs.get("classname")
            if classname is None:
                full = attrs.get("fullname") or name
                if full.endswith("." + name):
                    classname = full[: -len(name) - 1]
                else:
                    classname = split_full_name(full)[0]
            duration = self.recorder.seconds(attrs.get("duration") or attrs.get("time"))
        else:
            outcome = nunit2_outcome(
                attrs.get("result"), attrs.get("executed"), attrs.get("success")
            )
            classname, name = split_full_name(attrs.get("name") or "")
            duration = self.recorder.seconds(attrs.get("time") or "0")
        if outcome is None:
            self.warnings.add(
                "nunit:result",
                f"NUnit result {attrs.get('result')!r} is not known; counted as an error",
            )
            outcome = "error"
        self.emit(
            classname=classname,
            name=name,
            outcome=outcome,
            duration=duration,
            message=join_message(self._message, self._trace),
            suite=self._assembly,
        )


class NUnit3Reader(XmlFormatReader):
    """Iterate the CaseRecords of an NUnit 3 <test-run> report."""

    format = "nunit3"

    def make_target(self, limits, warnings) -> NUnitTarget:
        return NUnitTarget(limits, warnings, 3)


class NUnit2Reader(XmlFormatReader):
    """Iterate the CaseRecords of an NUnit 2 <test-results> report."""

    format = "nunit2"

    def make_target(self, limits, warnings) -> NUnitTarget:
        return NUnitTarget(limits, warnings, 2)
