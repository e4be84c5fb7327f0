"""Plain values produced by the JUnit reader: limits, records, errors and attempt merging."""

from dataclasses import dataclass, replace

OUTCOMES = ("passed", "failed", "error", "skipped")


class JUnitError(Exception):
    """Refuse a report; `code` is machine-readable, `detail` a human sentence.

    Codes: malformed, not_junit (none of the accepted formats), doctype_forbidden,
    too_many_testcases, too_many_elements, too_deep, too_large, empty. `line` and
    `column` are 1-based positions in the XML when known.
    """

    def __init__(
        self, code: str, detail: str, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        return f"JUnitError({self.code!r}, {self.detail!r}, line={self.line}, column={self.column})"


@dataclass(frozen=True, slots=True)
class ReportLimits:
    """Safety limits of one report; sizes in characters or bytes.

    `max_elements` counts every XML element (or JSON event line) read, so that a flood
    of elements that are not tests costs bounded time. `max_text_bytes` bounds any one
    text the readers hand to Python (a CDATA section, a JSON string, a JSON line):
    longer text is cut while streaming and a warning recorded, never refused.
    """

    max_testcases: int = 2_000_000
    max_name_length: int = 1000
    max_message_length: int = 4000
    max_depth: int = 32
    max_decompressed_bytes: int = 500 * 1024 * 1024
    max_elements: int = 10_000_000
    max_text_bytes: int = 1024 * 1024


@dataclass(slots=True)
class CaseRecord:
    """One `<testcase>` element, reduced to what passline stores.

    `duration` is in seconds (finite, >= 0); `outcome` is one of OUTCOMES.
    """

    classname: str
    name: str
    file: str
    line: int | None
    suite: str
    outcome: str
    flaky: bool
    attempts: int
    duration: float
    message: str


# Worst outcome first: the reported outcome of failing attempts.
_SEVERITY = {"error": 0, "failed": 1, "skipped": 2, "passed": 3}


def merge_attempts(a: CaseRecord, b: CaseRecord) -> CaseRecord:
    """Return one record for two attempts of the same test within one run.

    Semantics (DESIGN.md "Outcome"):
    - outcome: "passed" if either attempt passed; otherwise the worse of the two in the
      order error > failed > skipped;
    - flaky: either record was already flaky, or the result passed while the other
      attempt failed or errored (a skipped attempt next to a passing one is not flaky);
    - attempts: the sum;
    - duration: the sum, because every attempt really spent that CI time;
    - message: of a failing/erroring attempt when there is one (first preferred), else `a`'s;
    - identity fields (classname, name, file, line, suite): `a`'s, filled from `b` when empty.
    """
    outcomes = (a.outcome, b.outcome)
    outcome = "passed" if "passed" in outcomes else min(outcomes, key=_SEVERITY.__getitem__)
    flaky = (
        a.flaky
        or b.flaky
        or (outcome == "passed" and ("failed" in outcomes or "error" in outcomes))
    )
    failing = [r for r in (a, b) if r.outcome in ("failed", "error") or r.flaky]
    message = next((r.message for r in failing if r.message), a.message or b.message)
    return replace(
        a,
        file=a.file or b.file,
        line=a.line if a.line is not None else b.line,
        suite=a.suite or b.suite,
        outcome=outcome,
        flaky=flaky,
        attempts=a.attempts + b.attempts,
        duration=a.duration + b.duration,
        message=message,
    )
