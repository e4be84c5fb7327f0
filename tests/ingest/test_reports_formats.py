"""Each non-JUnit format reads into the JUnit reader's records, mapped as docs/formats.md says."""

import gzip
import io
from pathlib import Path

import pytest

from benchmarks.formats import generate_trx, write_trx_hostile
from ingest.decompress import open_report
from ingest.junit import JUnitError, ReportLimits, merge_attempts
from ingest.reports import open_reader

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reports"


def read(name: str, limits: ReportLimits | None = None):
    reader = open_reader(io.BytesIO((FIXTURES / name).read_bytes()), limits or ReportLimits())
    return list(reader), reader


def table(records) -> dict:
    return {(r.classname, r.name): r for r in records}


def outcomes(records) -> dict:
    return {r.name: r.outcome for r in records}


# NUnit 3 -----------------------------------------------------------------------------


def test_nunit3_maps_every_result_and_label():
    records, reader = read("nunit3-outcomes.xml")  # with a UTF-8 BOM
    assert reader.format == "nunit3"
    assert outcomes(records) == {
        "AddsItem": "passed",
        "RemovesItem": "failed",
        "Throws": "error",  # label Error: an exception, not an assertion
        "Maybe": "skipped",  # Inconclusive
        "Later": "skipped",  # Ignored
        "Manual": "skipped",  # Explicit
        "NoArgs": "error",  # NotRunnable (label Invalid)
        "Warns": "passed",  # Warning: passed with a warning
        "Cancelled": "error",
        "Total(1,2)": "passed",
        'Total(2.5,"a.b")': "passed",
    }


def test_nunit3_fields_and_parameterised_cases():
    records, reader = read("nunit3-outcomes.xml")
    cases = table(records)
    removes = cases[("Shop.CartTests", "RemovesItem")]
    assert removes.suite == "Shop.Tests.dll"
    assert removes.duration == 0.5  # "0,5": a decimal comma
    assert removes.message.startswith("Expected: 0\n  But was:  1\nat Shop.CartTests")
    assert cases[("Shop.CartTests", "AddsItem")].duration == 0.125
    assert cases[("Shop.CartTests", "Later")].message == "waiting for PRICE-12"
    # One test per case of a parameterised method.
    assert ("Shop.PriceTests", "Total(1,2)") in cases
    assert ("Shop.PriceTests", 'Total(2.5,"a.b")') in cases
    assert reader.timestamp.isoformat() == "2024-05-01T10:00:00+00:00"


def test_nunit3_empty_run_has_no_tests():
    records, reader = read("nunit3-empty.xml")
    assert records == [] and reader.testcases == 0 and reader.format == "nunit3"


# NUnit 2 -----------------------------------------------------------------------------


def test_nunit2_splits_full_names_and_reads_comma_decimals():
    records, reader = read("nunit2-comma.xml")
    assert reader.format == "nunit2"
    cases = table(records)
    assert cases[("Shop.CartTests", "AddsItem")].duration == 0.125
    assert cases[("Shop.CartTests", "AddsItem")].suite == "Shop.Tests.dll"
    assert ("Shop.PriceTests", 'Total(2.5,"a.b")') in cases
    assert outcomes(records) == {
        "AddsItem": "passed",
        "RemovesItem": "failed",
        "Throws": "error",
        "Later": "skipped",  # Ignored
        "NoArgs": "error",  # NotRunnable
        "Maybe": "skipped",  # Inconclusive
        'Total(2.5,"a.b")': "passed",
    }
    assert cases[("Shop.CartTests", "RemovesItem")].message == (
        "Expected: 0\n  But was:  1\n"
        "at Shop.CartTests.RemovesItem() in C:\\src\\CartTests.cs:line 20"
    )
    assert cases[("Shop.CartTests", "NoArgs")].message == "No arguments were provided"
    assert reader.timestamp.isoformat() == "2024-05-01T10:00:00+00:00"


# xUnit.net ---------------------------------------------------------------------------


def test_xunit2_theories_are_one_test_per_row_and_names_lose_the_type():
    records, reader = read("xunit2-theories.xml")
    assert reader.format == "xunit"
    cases = table(records)
    assert set(cases) == {
        ("Shop.CartTests", "AddsItem"),
        ("Shop.CartTests", "Total(a: 1, b: 2)"),
        ("Shop.CartTests", "Total(a: 2, b: 2)"),
        ("Shop.CartTests", "Removing an item empties the cart"),
        ("Shop.CartTests", "Later"),
        ("Shop.CartTests", "Manual"),
    }
    assert outcomes(records)["Manual"] == "skipped"  # NotRun
    assert outcomes(records)["Later"] == "skipped"
    assert cases[("Shop.CartTests", "Later")].message == "waiting for PRICE-12"
    assert cases[("Shop.CartTests", "Total(a: 2, b: 2)")].message.startswith(
        "Assert.Equal() Failure\nExpected: 5"
    )
    assert cases[("Shop.CartTests", "AddsItem")].suite == "Shop.Tests.dll"


def test_xunit1_classes():
    records, reader = read("xunit1-classes.xml")
    assert reader.format == "xunit"
    assert outcomes(records) == {"AddsItem": "passed", "RemovesItem": "failed", "Later": "skipped"}
    cases = table(records)
    assert cases[("Shop.CartTests", "Later")].message == "waiting for PRICE-12"
    assert cases[("Shop.CartTests", "RemovesItem")].message == (
        "Assert.Equal() Failure\nat Shop.CartTests.RemovesItem()"
    )


# TRX ---------------------------------------------------------------------------------

TRX_OUTCOMES = {
    "AddsItem": "passed",
    "RemovesItem": "failed",
    "Later": "skipped",  # NotExecuted
    "Slow": "failed",  # Timeout
    "Killed": "error",  # Aborted
    "Maybe": "skipped",  # Inconclusive
    "Warns": "passed",  # Warning
    "Throws": "error",  # Error
    "Total (Data Row 0)": "passed",
    "Total (Data Row 1)": "failed",
    "Total (Data Row 2)": "passed",
}


@pytest.mark.parametrize("name", ["trx-results-first.trx", "trx-definitions-first.trx"])
def test_trx_joins_results_with_definitions_in_either_order(name):
    records, reader = read(name)
    assert reader.format == "trx"
    assert outcomes(records) == TRX_OUTCOMES
    cases = table(records)
    # className from <TestMethod>; "Shop.PriceTests." is dropped from a full testName.
    assert ("Shop.PriceTests", "Throws") in cases
    assert ("Shop.CartTests", "AddsItem") in cases
    removes = cases[("Shop.CartTests", "RemovesItem")]
    assert removes.suite == "shop.tests.dll"
    assert removes.duration == 0.5
    assert removes.message == (
        "Assert.AreEqual failed. Expected:<0>. Actual:<1>.\n"
        "at Shop.CartTests.RemovesItem() in /src/CartTests.cs:line 20"
    )
    assert cases[("Shop.CartTests", "Slow")].duration == 93784.5  # 1.02:03:04.5
    # The data-driven parent is not a test of its own: its three rows are.
    assert ("Shop.PriceTests", "Total") not in cases
    assert cases[("Shop.PriceTests", "Total (Data Row 1)")].message == "Row 1: expected 5, got 4"
    assert reader.timestamp.isoformat() == "2024-05-01T08:00:00.500000+00:00"


@pytest.mark.parametrize("name", ["trx-results-first.trx", "trx-definitions-first.trx"])
def test_trx_test_ids_match_whatever_their_case_and_braces(name):
    """A GUID compares case-insensitively: tools write the same id in either case, and
    in braces or not, on the <UnitTest> and on its result."""
    import re

    data = (FIXTURES / name).read_bytes()
    data = re.sub(rb' id="00000000-', b' id="ABCDEF00-', data)
    data = re.sub(rb'testId="00000000-([0-9-]+)"', rb'testId="{abcdef00-\1}"', data)
    assert b'testId="{abcdef00-' in data and b' id="ABCDEF00-' in data
    reader = open_reader(io.BytesIO(data), ReportLimits())
    records = list(reader)
    assert outcomes(records) == TRX_OUTCOMES
    assert ("Shop.CartTests", "AddsItem") in table(records)
    assert not [w for w in reader.warnings if "no <UnitTest> definition" in w]


def test_trx_holds_results_back_until_definitions_arrive():
    reader = open_reader(io.BytesIO((FIXTURES / "trx-results-first.trx").read_bytes()))
    list(reader)
    assert reader._target.deferred == len(TRX_OUTCOMES)  # every result, rows included
    assert reader._target.spilled == 0  # all held in memory
    reader = open_reader(io.BytesIO((FIXTURES / "trx-definitions-first.trx").read_bytes()))
    list(reader)
    assert reader._target.deferred == 0


@pytest.mark.parametrize("in_memory", [0, 3])
def test_trx_spills_held_results_to_disk_past_the_memory_cap(in_memory, monkeypatch):
    monkeypatch.setattr("ingest.reports.trx.RESULTS_IN_MEMORY", in_memory)
    monkeypatch.setattr("ingest.reports.trx.SPILL_BATCH", 2)  # several batches, one partial
    records, reader = read("trx-results-first.trx")
    assert reader._target.spilled == len(TRX_OUTCOMES) - in_memory
    assert outcomes(records) == TRX_OUTCOMES
    # The order of the report is kept: memory first, then the spill file.
    assert [r.name for r in records] == list(TRX_OUTCOMES)
    removes = table(records)[("Shop.CartTests", "RemovesItem")]
    assert (removes.duration, removes.suite) == (0.5, "shop.tests.dll")
    assert removes.message.startswith("Assert.AreEqual failed.")
    assert reader._target.spill is None  # closed and gone


@pytest.mark.parametrize("name", ["trx-results-first.trx", "trx-definitions-first.trx"])
def test_trx_definitions_move_to_disk_past_the_memory_cap(name, monkeypatch):
    monkeypatch.setattr("ingest.reports.trx.DEFINITIONS_IN_MEMORY", 3)
    reader = open_reader(io.BytesIO((FIXTURES / name).read_bytes()))
    records = list(reader)
    assert outcomes(records) == TRX_OUTCOMES
    assert ("Shop.PriceTests", "Throws") in table(records)
    assert not any("no <UnitTest> definition" in w for w in reader.warnings)
    assert reader._target.definitions._db is None  # closed, its folder removed


def generated_trx(tmp_path, tests: int, order: str) -> bytes:
    """The benchmark's TRX (results, definitions, entries) with its sections reordered."""
    path = tmp_path / "generated.trx"
    generate_trx(path, tests)
    text = path.read_text()
    head, rest = text.split("  <Results>\n", 1)
    results, rest = rest.split("  </Results>\n", 1)
    definitions, rest = rest.split("  </TestDefinitions>\n", 1)
    entries, tail = rest.split("  </TestEntries>\n", 1)
    sections = {
        "results": f"  <Results>\n{results}  </Results>\n",
        "definitions": f"{definitions}  </TestDefinitions>\n",
        "entries": f"{entries}  </TestEntries>\n",
    }
    return (head + "".join(sections[name] for name in order.split(",")) + tail).encode()


@pytest.mark.parametrize(
    "order",
    [
        "results,definitions,entries",  # VSTest's own order
        "results,entries,definitions",  # definitions last of all
        "definitions,results,entries",
    ],
)
def test_trx_stays_bounded_past_both_memory_caps_in_any_order(tmp_path, monkeypatch, order):
    monkeypatch.setattr("ingest.reports.trx.RESULTS_IN_MEMORY", 100)
    monkeypatch.setattr("ingest.reports.trx.DEFINITIONS_IN_MEMORY", 500)
    monkeypatch.setattr("ingest.reports.trx.SPILL_BATCH", 64)
    reader = open_reader(io.BytesIO(generated_trx(tmp_path, 3000, order)))
    target = reader._target
    records = []
    for record in reader:
        if not records:  # every definition past the cap is on disk, not in memory
            assert target.definitions.on_disk and not target.definitions._memory
        records.append(record)
    assert reader.format == "trx" and reader.warnings == []
    # Counted independently of the reader: the generator makes 2% failed, 1% skipped.
    assert len(records) == 3000
    assert sum(r.outcome == "failed" for r in records) == 60
    assert sum(r.outcome == "skipped" for r in records) == 30
    by_name = {r.name: r for r in records}
    assert by_name["Test1234"].classname == "Bench.Module1.Fixture"
    assert by_name["Test1234"].suite == "bench.tests.dll"
    assert by_name["Test1234"].duration == pytest.approx(1234 % 997 / 1e7)
    assert by_name["Test100"].message == "Expected 100 but was 0\nat Bench.Fixture.Test()"
    # Held back (results before their definitions, or definitions already on disk, which
    # are looked up in batches after the parse): the first 100 in memory, the rest
    # spilled to the temporary file; the report's order is kept.
    assert (target.deferred, target.spilled) == (3000, 2900)
    assert [r.name for r in records[:3]] == ["Test0", "Test1", "Test2"]
    assert target.spill is None and target.definitions._db is None  # both gone


def test_trx_ids_that_are_not_guids_join_too():
    data = (FIXTURES / "trx-results-first.trx").read_bytes()
    for number in range(1, 10):
        data = data.replace(
            f"00000000-0000-0000-0000-00000000000{number}".encode(), b"id-%d" % number
        )
    records = open_reader(io.BytesIO(data))
    assert outcomes(list(records)) == TRX_OUTCOMES
    assert ("Shop.PriceTests", "Throws") in table(list(open_reader(io.BytesIO(data))))


def test_trx_empty_run_and_a_foreign_namespace():
    records, reader = read("trx-empty.trx")
    assert records == [] and reader.format == "trx"
    with pytest.raises(JUnitError) as caught:
        read("trx-wrong-namespace.xml")
    assert caught.value.code == "not_junit"
    assert "TeamTest/2010" in caught.value.detail


def test_trx_respects_the_testcase_limit_while_spilling():
    with pytest.raises(JUnitError) as caught:
        read("trx-results-first.trx", ReportLimits(max_testcases=5))
    assert caught.value.code == "too_many_testcases"


def hostile_trx(tmp_path, kind: str) -> bytes:
    """`write_trx_hostile`, small: 20,000 <x/>, or 2 MiB of text (over the 1 MiB limit)."""
    path = tmp_path / f"hostile-{kind}.trx"
    write_trx_hostile(path, kind, size=2 * 1024 * 1024, elements=20_000)
    data = path.read_bytes()
    return gzip.decompress(data) if kind == "flood" else data


@pytest.mark.parametrize("kind", ["flood", "text", "cdata"])
def test_trx_hazards_inside_a_result_keep_both_results(tmp_path, kind):
    # The hazards a tree-building reader would hold inside the open result (issue 13):
    # the target reader keeps neither, and reads both results with their messages.
    reader = open_reader(io.BytesIO(hostile_trx(tmp_path, kind)))
    cases = table(list(reader))
    assert list(cases) == [("Hostile", "Test1"), ("Hostile", "Test2")]
    assert {r.outcome for r in cases.values()} == {"failed"}
    assert cases[("Hostile", "Test2")].message == "boom 2"
    first = cases[("Hostile", "Test1")].message
    if kind == "cdata":  # the 2 MiB message itself: its start, cut to the limit
        assert first.startswith("2026-01-01 00:00:00 INFO chatty")
        assert len(first) == ReportLimits().max_message_length
        assert reader.warnings[0].startswith("<Message> held 2,146,000 characters")
        assert "truncated" in reader.warnings[1]
    elif kind == "text":  # a long <StdOut> is not kept, and said so
        assert first == "boom 1"
        assert reader.warnings == [
            "<StdOut> held 2,146,000 characters of text, more than 1,048,576 "
            "(PASSLINE_MAX_TEXT_BYTES): it was cut while reading and the results kept"
        ]
    else:
        assert first == "boom 1" and reader.warnings == []


def test_trx_element_flood_inside_a_result_meets_the_element_limit(tmp_path):
    data = hostile_trx(tmp_path, "flood")
    with pytest.raises(JUnitError) as caught:
        list(open_reader(io.BytesIO(data), ReportLimits(max_elements=10_000)))
    assert caught.value.code == "too_many_elements"


# CTRF --------------------------------------------------------------------------------


def test_ctrf_maps_statuses_suites_retries_and_milliseconds():
    records, reader = read("ctrf-mixed.json")
    assert reader.format == "ctrf"
    assert outcomes(records) == {
        "adds two numbers": "passed",
        "divides by zero": "failed",
        "talks to the cache": "passed",
        "runs on windows only": "skipped",
        "is not written yet": "skipped",  # pending
        "was interrupted": "error",  # other
        "déjà vu ✓": "passed",
    }
    cases = table(records)
    adds = cases[("calculator > add", "adds two numbers")]
    assert (adds.file, adds.line, adds.duration) == ("src/calc.test.js", 4, 0.012)
    divides = cases[("calculator > divide", "divides by zero")]
    assert divides.duration == 1.5
    assert divides.message == (
        "Expected error, got Infinity\nat Object.<anonymous> (src/calc.test.js:20:5)"
    )
    cache = cases[("cache", "talks to the cache")]
    assert (cache.flaky, cache.attempts) == (True, 3)
    assert cases[("", "was interrupted")].message == "The run was cancelled"
    assert reader.timestamp.isoformat() == "2024-05-01T10:00:00.100000+00:00"


def test_lone_surrogates_never_reach_the_database():
    ctrf = (
        b'{"results": {"tool": {"name": "t"}, "summary": {}, "tests": ['
        b'{"name": "a\\ud800b", "status": "failed", "duration": 1}]}}'
    )
    [record] = list(open_reader(io.BytesIO(ctrf)))
    assert record.name == "a?b"
    go = b'{"Action":"fail","Package":"p","Test":"Test\\ud800x","Elapsed":1}\n'
    [record] = list(open_reader(io.BytesIO(go)))
    assert record.name == "Test?x"
    record.name.encode()


def test_ctrf_empty_run():
    records, reader = read("ctrf-empty.json")
    assert records == [] and reader.format == "ctrf"


def test_ctrf_cuts_a_huge_message_while_streaming():
    message = "x" * 3_000_000
    data = (
        '{"results": {"tool": {"name": "t"}, "summary": {}, "tests": ['
        f'{{"name": "a", "status": "failed", "duration": 1, "message": "{message}"}},'
        '{"name": "b", "status": "passed", "duration": 1}]}}'
    ).encode()
    reader = open_reader(io.BytesIO(data), ReportLimits(max_text_bytes=100_000))
    records = list(reader)
    assert [r.name for r in records] == ["a", "b"]
    assert len(records[0].message) == 4000
    assert any("PASSLINE_MAX_TEXT_BYTES" in w for w in reader.warnings)


def test_ctrf_refuses_broken_json_and_a_flood_of_ignored_values():
    with pytest.raises(JUnitError) as caught:
        list(open_reader(io.BytesIO(b'{"results": {"tool": {}, "summary": {}, "tests": [{"name":')))
    assert caught.value.code == "malformed"
    flood = ",".join(["1"] * 2000)
    data = f'{{"results": {{"tool": {{}}, "summary": {{}}, "extra": [{flood}], "tests": []}}}}'
    with pytest.raises(JUnitError) as caught:
        list(open_reader(io.BytesIO(data.encode()), ReportLimits(max_elements=1000)))
    assert caught.value.code == "too_many_elements"


# go test -json -----------------------------------------------------------------------


def test_go_test_json_counts_leaves_failing_parents_crashes_and_build_failures():
    records, reader = read("gotest-mixed.jsonl")
    assert reader.format == "gotest"
    got = [(r.classname, r.name, r.outcome) for r in records]
    assert got == [
        ("example.com/calc", "TestAdd", "passed"),
        ("example.com/calc", "TestDiv", "failed"),
        ("example.com/calc", "TestSlow", "skipped"),
        ("example.com/calc", "TestMul/small", "passed"),
        ("example.com/calc", "TestMul/large", "passed"),
        ("example.com/calc", "TestSub/negative", "failed"),
        ("example.com/calc", "TestSub/zero", "passed"),
        ("example.com/calc", "TestCleanup/a", "passed"),
        ("example.com/calc", "TestCleanup", "failed"),  # failed with all subtests passing
        ("example.com/calc", "TestRetry", "failed"),
        ("example.com/calc", "TestRetry", "passed"),
        ("example.com/cache", "TestGet", "passed"),
        ("example.com/cache", "TestEvict", "error"),  # no final action: the binary panicked
        ("example.com/broken", "(package)", "error"),  # build failure, no tests
    ]
    cases = {(r.classname, r.name): r for r in records}
    assert cases[("example.com/calc", "TestDiv")].message == (
        "calc_test.go:21: Div(1, 0) = 0, want error"
    )
    assert cases[("example.com/calc", "TestDiv")].duration == 0.02
    assert "index out of range" in cases[("example.com/cache", "TestEvict")].message
    assert "syntax error" in cases[("example.com/broken", "(package)")].message
    assert any("not a test2json event" in w for w in reader.warnings)
    assert reader.timestamp is not None


def test_go_test_json_retries_merge_into_one_flaky_pass():
    records, _reader = read("gotest-mixed.jsonl")
    first, second = [r for r in records if r.name == "TestRetry"]
    merged = merge_attempts(first, second)
    assert (merged.outcome, merged.flaky, merged.attempts) == ("passed", True, 2)


def test_go_test_json_without_tests():
    records, reader = read("gotest-no-tests.jsonl")
    assert records == [] and reader.format == "gotest"


def test_go_test_json_long_output_and_long_lines_are_cut_not_refused():
    event = '{"Action":"%s","Package":"p","Test":"TestA"%s}\n'
    big = "y" * 2_000_000
    data = (
        event % ("run", "")
        + event % ("output", f',"Output":"{big}\\n"')
        + '{"Action":"output","Package":"p","Test":"TestA","Output":"'
        + "z" * 10
        + '"}'
        + " " * 400_000
        + "\n"
        + event % ("fail", ',"Elapsed":1.5')
    ).encode()
    reader = open_reader(io.BytesIO(data), ReportLimits(max_text_bytes=100_000))
    [record] = list(reader)
    assert (record.name, record.outcome, record.duration) == ("TestA", "failed", 1.5)
    assert record.message.startswith("yyyy") and len(record.message) == 4000
    assert any("PASSLINE_MAX_TEXT_BYTES" in w for w in reader.warnings)


# All formats -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "nunit3-outcomes.xml",
        "nunit2-comma.xml",
        "xunit2-theories.xml",
        "trx-results-first.trx",
        "ctrf-mixed.json",
        "gotest-mixed.jsonl",
    ],
)
def test_every_format_reads_through_gzip(name):
    plain, _ = read(name)
    packed = gzip.compress((FIXTURES / name).read_bytes())
    stream = open_report(io.BytesIO(packed), max_decompressed_bytes=10_000_000)
    assert list(open_reader(stream)) == plain


@pytest.mark.parametrize(
    "name", ["nunit3-outcomes.xml", "nunit2-comma.xml", "xunit2-theories.xml", "trx-empty.trx"]
)
def test_xml_formats_refuse_a_doctype(name):
    data = (FIXTURES / name).read_bytes().removeprefix(b"\xef\xbb\xbf")
    declaration, _, rest = data.partition(b"\n")
    hostile = declaration + b'\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n' + rest
    with pytest.raises(JUnitError) as caught:
        list(open_reader(io.BytesIO(hostile)))
    assert caught.value.code == "doctype_forbidden"


@pytest.mark.parametrize(
    "name",
    ["nunit3-outcomes.xml", "nunit2-comma.xml", "xunit2-theories.xml", "trx-results-first.trx"],
)
def test_xml_formats_respect_the_depth_and_testcase_limits(name):
    with pytest.raises(JUnitError) as caught:
        read(name, ReportLimits(max_depth=3))
    assert caught.value.code == "too_deep"
    with pytest.raises(JUnitError) as caught:
        read(name, ReportLimits(max_testcases=1))
    assert caught.value.code == "too_many_testcases"


@pytest.mark.parametrize(
    "name",
    [
        "nunit3-outcomes.xml",
        "nunit2-comma.xml",
        "xunit2-theories.xml",
        "trx-results-first.trx",
        "gotest-mixed.jsonl",
    ],
)
def test_every_format_refuses_an_element_flood_beyond_the_limit(name):
    with pytest.raises(JUnitError) as caught:
        read(name, ReportLimits(max_elements=10))
    assert caught.value.code == "too_many_elements"
    assert "PASSLINE_MAX_ELEMENTS" in caught.value.detail


@pytest.mark.parametrize(
    "name",
    ["nunit3-outcomes.xml", "xunit2-theories.xml", "trx-results-first.trx", "ctrf-mixed.json"],
)
def test_long_names_are_truncated_and_recorded(name):
    records, reader = read(name, ReportLimits(max_name_length=6))
    assert all(len(r.name) <= 6 for r in records)
    assert any("truncated" in w for w in reader.warnings)
