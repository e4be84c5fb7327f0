"""Behaviour of the streaming JUnit reader on well-formed reports."""

import io
from datetime import UTC, datetime

import pytest

from ingest.junit import CaseRecord, ReportLimits, ReportReader


def read(data: bytes, limits: ReportLimits | None = None) -> tuple[list[CaseRecord], ReportReader]:
    reader = ReportReader(io.BytesIO(data), limits or ReportLimits())
    return list(reader), reader


def by_name(records: list[CaseRecord]) -> dict[str, CaseRecord]:
    return {r.name: r for r in records}


def test_reads_outcomes_files_and_times_of_a_pytest_report(junit_fixture):
    records, reader = read(junit_fixture("pytest-mixed.xml"))
    cases = by_name(records)

    assert reader.testcases == len(records) == 6
    add = cases["test_add"]
    assert (add.classname, add.file, add.line, add.suite) == (
        "tests.test_shop.TestCart",
        "tests/test_shop.py",
        12,
        "pytest",
    )
    assert (add.outcome, add.flaky, add.attempts, add.duration) == ("passed", False, 1, 0.01)
    assert cases["test_remove"].outcome == "failed"
    assert cases["test_remove"].duration == pytest.approx(0.288)
    assert cases["test_remove"].message.startswith("assert 1 == 2\ndef test_remove():")
    assert cases["test_total"].outcome == "error"
    assert cases["test_total"].duration == pytest.approx(2503.1)
    assert cases["test_total"].message == "fixture 'db' not found\nsetup failed"
    assert cases["test_discount"].outcome == "skipped"
    assert cases["test_discount"].duration == pytest.approx(0.001)
    assert cases["test_discount"].message.startswith("needs a coupon service")
    assert cases["test_both"].outcome == "error"
    assert cases["test_both"].duration == 0.0
    assert cases["test_no_time"].duration == 0.0
    assert cases["test_no_time"].line is None


def test_ignores_counter_attributes(junit_fixture):
    _records, reader = read(junit_fixture("pytest-mixed.xml"))
    assert reader.testcases == 6  # the suite claims tests="99"


def test_takes_the_suite_timestamp_in_utc(junit_fixture):
    _records, reader = read(junit_fixture("pytest-mixed.xml"))
    assert reader.timestamp == datetime(2024, 3, 5, 8, 20, 30, 123456, tzinfo=UTC)


def test_warns_about_missing_time(junit_fixture):
    _records, reader = read(junit_fixture("pytest-mixed.xml"))
    assert any("time missing" in w for w in reader.warnings)


def test_surefire_flaky_passes_and_reruns_fail(junit_fixture):
    cases = by_name(read(junit_fixture("surefire-reruns.xml"))[0])

    flaky = cases["passesOnRetry"]
    assert (flaky.outcome, flaky.flaky, flaky.attempts) == ("passed", True, 3)
    assert flaky.message.startswith("expected 1 but was 2")
    failing = cases["failsEveryTime"]
    assert (failing.outcome, failing.flaky, failing.attempts) == ("failed", False, 3)
    assert failing.message == "boom\ntrace"
    erroring = cases["errorsEveryTime"]
    assert (erroring.outcome, erroring.flaky, erroring.attempts) == ("error", False, 2)


def test_root_testsuite_names_the_suite(junit_fixture):
    records = read(junit_fixture("surefire-reruns.xml"))[0]
    assert {r.suite for r in records} == {"com.shop.CartTest"}


def test_nested_suites_and_testcases_under_testsuites(junit_fixture):
    records, reader = read(junit_fixture("nested-suites.xml"))
    cases = by_name(records)

    assert reader.testcases == 5
    assert cases["top level test"].suite == ""
    assert cases["top level test"].classname == ""
    assert cases["deep one"].suite == "inner"
    assert cases["deep one"].file == "spec/outer.spec.js"  # inherited from the outer suite
    assert cases["shallow"].suite == "outer"
    assert cases["shallow"].file == "spec/own.js"
    assert cases["nameless suite"].suite == ""
    # The outer suite's timestamp is unusable; the inner one is the first usable one.
    assert reader.timestamp == datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_placeholder_and_negative_times_become_zero_with_a_warning(junit_fixture):
    records, reader = read(junit_fixture("nested-suites.xml"))
    cases = by_name(records)
    for name in ("deep one", "deep two", "shallow", "nameless suite"):
        assert cases[name].duration == 0.0
    assert any("'*' is not a number" in w for w in reader.warnings)
    assert any("more like it" in w for w in reader.warnings)
    assert len(reader.warnings) <= 3


def test_namespaced_elements_are_read_by_local_name(junit_fixture):
    cases = by_name(read(junit_fixture("namespaced.xml"))[0])
    assert cases["ok"].outcome == "passed"
    assert cases["bad"].outcome == "failed"
    assert cases["bad"].message == "nope"
    assert cases["bad"].suite == "ns"


@pytest.mark.parametrize(
    "encoding, bom",
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
    ],
)
def test_reads_utf8_and_utf16_with_astral_characters(encoding, bom):
    label = "UTF-16" if encoding.startswith("utf-16") else "UTF-8"
    text = (
        f'<?xml version="1.0" encoding="{label}"?>\n'
        '<testsuite name="Тесты"><testcase classname="Ünïcode.测试" '
        'name="emoji 🐍 \U0001d518"/></testsuite>'
    )
    records = read(bom + text.encode(encoding))[0]
    assert [(r.suite, r.classname, r.name) for r in records] == [
        ("Тесты", "Ünïcode.测试", "emoji 🐍 \U0001d518")
    ]


def test_names_are_normalised_like_test_identity():
    data = (
        '<testsuite><testcase classname=" a\tb " name="Cafe\u0301\n  latte"/></testsuite>'
    ).encode()
    record = read(data)[0][0]
    assert (record.classname, record.name) == ("a b", "Café latte")


def test_status_notrun_without_children_counts_as_skipped():
    data = b'<testsuite name="g"><testcase name="t" status="notrun"/></testsuite>'
    assert read(data)[0][0].outcome == "skipped"


def test_long_messages_are_truncated_and_recorded():
    text = "x" * 10_000
    data = f'<testsuite><testcase name="t"><failure message="m">{text}</failure></testcase>'
    data += "</testsuite>"
    records, reader = read(data.encode(), ReportLimits(max_message_length=100))
    assert len(records[0].message) == 100
    assert records[0].message.endswith("…")
    assert any("message" in w and "truncated" in w for w in reader.warnings)


def test_yields_records_while_the_stream_is_still_being_read():
    case = b'<testcase name="t"><system-out>' + b"o" * 1000 + b"</system-out></testcase>"
    stream = io.BytesIO(b"<testsuite>" + case * 1000 + b"</testsuite>")
    iterator = iter(ReportReader(stream))
    next(iterator)
    assert stream.tell() < len(stream.getvalue()) // 4  # streamed, not read whole
    assert len(list(iterator)) == 999


@pytest.mark.parametrize("value", ["", "12.5", "-3", "abc", "99999999999999999999", "٣"])
def test_unusable_line_numbers_are_unknown(value):
    data = f'<testsuite><testcase name="t" line="{value}"/></testsuite>'.encode()
    assert read(data)[0][0].line is None
