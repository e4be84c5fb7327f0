"""Read `go test -json` output (test2json events, one JSON object a line) into CaseRecords.

Each event names a Package and usually a Test ("TestA/sub_1" for a subtest). A test ends
with a pass, fail or skip event carrying Elapsed seconds; its output lines before that
become its message (capped). Choices, explained in docs/formats.md:

- subtests are the cases: a test with subtests is a group and is not counted itself,
  unless it failed while none of its subtests failed (then its own code failed, and it
  is counted as failed);
- a test without a final event (the binary panicked, timed out or was killed) is an
  error, decided when its package ends or the stream ends;
- a package that fails without any failing test (a build failure, a failing TestMain)
  is one error record named "(package)";
- a line that is not JSON (a stray build message) is skipped with a warning.

Memory is the open tests of the stream (running tests, each with a capped output), not
the report: lines are read one at a time, each at most max_text_bytes + 128 KiB; from a
longer output line the head of its text is kept (a warning says so).
"""

import contextlib
import json
import re
from collections.abc import Iterator

from ingest.junit.model import CaseRecord, JUnitError
from ingest.junit.values import parse_timestamp

from .common import StreamReader, join_message
from .jsontext import UNITS, utf8_boundary

PACKAGE_TEST = "(package)"
_INF = float("inf")
_FINAL = {"pass": "passed", "fail": "failed", "skip": "skipped"}
_FRAMING = ("=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- FAIL", "--- SKIP")
# test2json's own framing lines ("=== RUN", "--- PASS: …"), dropped before decoding.
_FRAMING_OUTPUT = (b'"Action":"output"', b'"Output":"=== ', b'"Output":"--- ')
_SCAN = json.JSONDecoder().scan_once
# The head of an over-long output line, in test2json's key order.
_LONG_OUTPUT = re.compile(
    rb'^\{(?:"Time":"[^"]*",)?"Action":"output","Package":"((?:[^"\\]|\\.)*)"'
    rb'(?:,"Test":"((?:[^"\\]|\\.)*)")?,"Output":"'
)
_NO_RESULT = (
    "no final result: the test binary ended before this test finished "
    "(a panic, a timeout or a crash)"
)


class _Open:
    """A test that started and has not ended yet."""

    __slots__ = ("child_failed", "has_children", "output", "room")

    def __init__(self, room: int) -> None:
        self.output: list[str] = []
        self.room = room
        self.has_children = False
        self.child_failed = False

    def add(self, text: str) -> None:
        if self.room > 0 and not text.lstrip().startswith(_FRAMING):
            piece = text[: self.room]
            self.output.append(piece)
            self.room -= len(piece)


class GoTestReader(StreamReader):
    """Iterate the CaseRecords of a `go test -json` stream."""

    format = "gotest"

    def _records(self) -> Iterator[CaseRecord]:
        limits = self._limits
        lines = self._stream
        max_line = limits.max_text_bytes + 128 * 1024
        self._room = limits.max_message_length + 1
        # Running tests; None until one has output or subtests (most never do).
        self._open: dict[tuple[str, str], _Open | None] = {}
        running = self._open
        self._packages: dict[str, _Open] = {}
        self._failing: set[str] = set()  # packages with a failed or errored record
        events = 0
        framing, run_line, end_line = _FRAMING_OUTPUT
        while line := lines.readline(max_line):
            if len(line) >= max_line and not line.endswith(b"\n"):
                while (rest := lines.readline(max_line)) and not rest.endswith(b"\n"):
                    pass
                self._long_line(line)
                continue
            events += 1
            if events > limits.max_elements:
                raise JUnitError(
                    "too_many_elements",
                    f"more than {limits.max_elements} events in one report (PASSLINE_MAX_ELEMENTS)",
                )
            if framing in line and (run_line in line or end_line in line):
                continue  # "=== RUN   TestX" or "--- PASS: TestX": kept by nobody
            try:
                event = _SCAN(line.decode(), 0)[0]  # test2json lines have no leading space
            except (StopIteration, ValueError, RecursionError):
                event = None
                if not line.strip():
                    events -= 1
                    continue
                with contextlib.suppress(StopIteration, ValueError, RecursionError):
                    event = _SCAN(line.decode().strip(), 0)[0]
            action = event.get("Action") if type(event) is dict else None
            if type(action) is not str:
                self._warnings.add(
                    "gotest:not-json", "a line that is not a test2json event was skipped"
                )
                continue
            if self.timestamp is None and isinstance(event.get("Time"), str):
                self.timestamp = parse_timestamp(event["Time"])
            if action == "run":  # the commonest event, inlined
                test = event.get("Test")
                if type(test) is str and test:
                    package = event.get("Package") or event.get("ImportPath") or ""
                    running[(package if type(package) is str else str(package), test)] = None
                    continue
            found = self._event(event)
            if found is not None:
                if type(found) is list:
                    yield from found
                else:
                    yield found
        yield from self._unfinished(None)
        self._packages.clear()

    def _long_line(self, head: bytes) -> None:
        """Keep the start of an over-long output event's text; skip any other long line."""
        match = _LONG_OUTPUT.match(head)
        if match is None:
            self._warnings.add(
                "gotest:long-line", f"a line longer than {len(head):,} bytes was skipped"
            )
            return
        self._warnings.add(
            "text:long",
            f"an output line longer than {len(head):,} bytes (PASSLINE_MAX_TEXT_BYTES) was "
            "cut while reading; the results were kept",
        )
        start = match.end()
        end = utf8_boundary(head, start, UNITS.match(head, start, start + self._room * 6).end())
        fields = [b'"' + part + b'"' for part in (match.group(1), match.group(2) or b"")]
        try:
            package, test, text = (
                json.loads(value) for value in (*fields, b'"' + head[start:end] + b'"')
            )
        except ValueError:
            return
        self._event({"Action": "output", "Package": package, "Test": test, "Output": text})

    def _event(self, event: dict) -> CaseRecord | list[CaseRecord] | None:
        """Apply one event; return the record(s) it completes (a plain call, no generator)."""
        action = event["Action"]
        package = event.get("Package") or event.get("ImportPath") or ""
        if type(package) is not str:
            package = str(package)
        test = event.get("Test")
        if not isinstance(test, str) or not test:
            if action in ("output", "build-output"):
                state = self._packages.setdefault(package, _Open(self._room))
                state.add(str(event.get("Output") or ""))
            elif action in ("fail", "build-fail", "pass", "skip"):
                return list(self._package_end(package, failed=action in ("fail", "build-fail")))
            return None
        key = (package, test)
        outcome = _FINAL.get(action)
        if outcome is not None:
            state = self._open.pop(key, None)
            if "/" in test:
                parent = self._state((package, test.rpartition("/")[0]), create=False)
                if parent is not None:
                    parent.has_children = True
                    parent.child_failed = parent.child_failed or outcome == "failed"
            message = ""
            if state is not None:
                if state.has_children and not (outcome == "failed" and not state.child_failed):
                    return None  # a group of subtests; its cases were counted
                if outcome != "passed":
                    message = join_message("".join(state.output))
            return self._record(package, test, outcome, event.get("Elapsed", 0), message)
        if action == "run":
            self._open[key] = None
        elif action == "output":
            self._state(key).add(str(event.get("Output") or ""))  # type: ignore[union-attr]
        return None

    def _state(self, key: tuple[str, str], *, create: bool = True) -> _Open | None:
        """Return the state of running test `key`, made real if it is a placeholder.

        A test that is not running gets a new state when `create` (output before its
        run event), else None.
        """
        state = self._open.get(key)
        if state is None and (create or key in self._open):
            state = self._open[key] = _Open(self._room)
        return state

    def _record(self, package: str, test: str, outcome: str, elapsed, message: str):
        if outcome in ("failed", "error"):
            self._failing.add(package)
        if type(elapsed) is not float or not 0.0 <= elapsed < _INF:
            elapsed = self._recorder.seconds(elapsed)
        return self._recorder.record(
            classname=package,
            name=test,
            outcome=outcome,
            duration=elapsed,
            message=message,
            suite=package,
        )

    def _package_end(self, package: str, *, failed: bool) -> Iterator[CaseRecord]:
        yield from self._unfinished(package)
        state = self._packages.pop(package, None)
        if failed and package not in self._failing:
            output = join_message("".join(state.output)) if state else ""
            message = output or f"package {package} failed without a failing test"
            yield self._record(package, PACKAGE_TEST, "error", 0, message)
        self._failing.discard(package)

    def _unfinished(self, package: str | None) -> Iterator[CaseRecord]:
        """Yield an error for each open test of `package` (all when None) whose subtests
        all ended: the innermost test that was running when the binary stopped."""
        keys = [k for k in self._open if package is None or k[0] == package]
        with_open_child = set()
        for pkg, test in keys:
            while "/" in test:
                test = test.rpartition("/")[0]
                with_open_child.add((pkg, test))
        for key in keys:
            state = self._open.pop(key)
            if key not in with_open_child:
                message = join_message(_NO_RESULT, "".join(state.output) if state else "")
                yield self._record(key[0], key[1], "error", 0, message)
