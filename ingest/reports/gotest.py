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
the report: lines are read one at a time, capped in length, with long strings cut.
"""

import io
import json
from collections.abc import Iterator

from ingest.junit.model import CaseRecord, JUnitError
from ingest.junit.values import parse_timestamp

from .common import StreamReader, join_message
from .jsontext import JsonStringCutter

PACKAGE_TEST = "(package)"
_FINAL = {"pass": "passed", "fail": "failed", "skip": "skipped"}
_FRAMING = ("=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- FAIL", "--- SKIP")
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
        cutter = JsonStringCutter(self._stream, limits.max_text_bytes)
        lines = io.BufferedReader(cutter, 64 * 1024)  # type: ignore[arg-type]
        max_line = limits.max_text_bytes + 128 * 1024
        self._room = limits.max_message_length + 1
        self._open: dict[tuple[str, str], _Open] = {}
        self._packages: dict[str, _Open] = {}
        self._failing: set[str] = set()  # packages with a failed or errored record
        events = 0
        while line := lines.readline(max_line):
            if len(line) >= max_line and not line.endswith(b"\n"):
                while (rest := lines.readline(max_line)) and not rest.endswith(b"\n"):
                    pass
                self._warnings.add(
                    "gotest:long-line", f"a line longer than {max_line:,} bytes was skipped"
                )
                continue
            if not line.strip():
                continue
            events += 1
            if events > limits.max_elements:
                raise JUnitError(
                    "too_many_elements",
                    f"more than {limits.max_elements} events in one report (PASSLINE_MAX_ELEMENTS)",
                )
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                event = None
            if not isinstance(event, dict) or not isinstance(event.get("Action"), str):
                self._warnings.add(
                    "gotest:not-json", "a line that is not a test2json event was skipped"
                )
                continue
            if self.timestamp is None and isinstance(event.get("Time"), str):
                self.timestamp = parse_timestamp(event["Time"])
            yield from self._event(event)
        yield from self._unfinished(None)
        for package in list(self._packages):
            self._packages.pop(package)
        if cutter.cut:
            self._warnings.add(
                "text:long",
                f"{cutter.cut} output texts longer than {limits.max_text_bytes:,} bytes "
                "(PASSLINE_MAX_TEXT_BYTES) were cut while reading; the results were kept",
            )

    def _event(self, event: dict) -> Iterator[CaseRecord]:
        action = event["Action"]
        package = str(event.get("Package") or event.get("ImportPath") or "")
        test = event.get("Test")
        if not isinstance(test, str) or not test:
            if action in ("output", "build-output"):
                state = self._packages.setdefault(package, _Open(self._room))
                state.add(str(event.get("Output") or ""))
            elif action in ("fail", "build-fail", "pass", "skip"):
                yield from self._package_end(package, failed=action in ("fail", "build-fail"))
            return
        key = (package, test)
        if action == "run":
            self._open[key] = _Open(self._room)
        elif action == "output":
            self._open.setdefault(key, _Open(self._room)).add(str(event.get("Output") or ""))
        elif action in _FINAL:
            state = self._open.pop(key, None) or _Open(self._room)
            outcome = _FINAL[action]
            parent = self._open.get((package, test.rpartition("/")[0])) if "/" in test else None
            if parent is not None:
                parent.has_children = True
                parent.child_failed = parent.child_failed or outcome == "failed"
            if state.has_children and not (outcome == "failed" and not state.child_failed):
                return  # a group of subtests; its cases were counted
            message = join_message("".join(state.output)) if outcome != "passed" else ""
            yield self._record(package, test, outcome, event.get("Elapsed", 0), message)

    def _record(self, package: str, test: str, outcome: str, elapsed, message: str):
        if outcome in ("failed", "error"):
            self._failing.add(package)
        return self._recorder.record(
            classname=package,
            name=test,
            outcome=outcome,
            duration=self._recorder.seconds(elapsed),
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
                message = join_message(_NO_RESULT, "".join(state.output))
                yield self._record(key[0], key[1], "error", 0, message)
