"""Issue 13's hostile reports: an element flood and a 30 MB log are read, in bounded memory.

Each file is read in a fresh process (the reader alone, then the worker path:
upload_create + upload_process against a scratch SQLite database) and the growth of
its resident memory is asserted below the 200 MB budget. Times are printed, never
asserted. The API test checks nothing accepted is lost: both uploads are processed
with their results.
"""
# ruff: noqa: F811 (pytest fixtures imported from upload_api_helpers)

from pathlib import Path

import pytest

from benchmarks.formats import (
    child_read,
    child_worker,
    generate_trx,
    write_flood,
    write_long_output,
    write_trx_hostile,
)
from ingest.reports.trx import DEFINITIONS_IN_MEMORY, RESULTS_IN_MEMORY
from tests.ingest.upload_api_helpers import (  # noqa: F401 (fixtures)
    _fresh_rate_limit_counts,
    client,
    post_xml,
    project,
    upload_token,
)

BUDGET_MIB = 200


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {
        "flood": folder / "flood.xml.gz",
        "text": folder / "long-text.xml",
        "cdata": folder / "long-cdata.xml",
    }
    write_flood(files["flood"])
    write_long_output(files["text"], cdata=False)
    write_long_output(files["cdata"], cdata=True)
    return files


def test_the_flood_is_the_issues_19_kb_gzip(hostile):
    assert hostile["flood"].stat().st_size < 25_000
    assert hostile["text"].stat().st_size > 30 * 1024 * 1024


@pytest.mark.parametrize("kind", ["flood", "text", "cdata"])
def test_reader_memory_stays_under_budget(hostile, kind):
    tests, peak, before, seconds, outcome = child_read(hostile[kind])
    print(f"{kind}: reader +{peak - before:.0f} MiB in {seconds:.2f} s ({outcome})")
    assert tests == (1 if kind == "flood" else 2), outcome
    assert peak - before < BUDGET_MIB


@pytest.fixture(scope="module")
def hostile_trx(tmp_path_factory) -> dict[str, Path]:
    """The same hazards inside a TRX result (docs/formats.md, TRX: why no tree)."""
    folder = tmp_path_factory.mktemp("hostile-trx")
    files = {
        "flood": folder / "flood.trx.gz",
        "text": folder / "long-stdout.trx",
        "cdata": folder / "long-message-cdata.trx",
    }
    for kind, path in files.items():
        write_trx_hostile(path, kind)
    return files


def test_the_trx_hazards_are_as_small_and_as_long_as_the_junit_ones(hostile_trx):
    # Over libxml2's 10 MB text node: a reader building a tree would refuse these.
    assert hostile_trx["flood"].stat().st_size < 25_000
    assert hostile_trx["text"].stat().st_size > 30 * 1024 * 1024


@pytest.mark.parametrize("kind", ["flood", "text", "cdata"])
def test_trx_reader_memory_stays_under_budget(hostile_trx, kind):
    tests, peak, before, seconds, outcome = child_read(hostile_trx[kind])
    print(f"trx {kind}: reader +{peak - before:.0f} MiB in {seconds:.2f} s ({outcome})")
    warnings = {"flood": 0, "text": 1, "cdata": 2}[kind]  # long text; a message cut too
    assert outcome == f"2 tests, {warnings} warnings"
    assert tests == 2
    assert peak - before < BUDGET_MIB


def test_a_large_trx_past_both_memory_caps_reads_under_budget(tmp_path):
    # Results first (VSTest's order), more tests than either cap: results are held,
    # then spilled; definitions move to the temporary SQLite table.
    tests = DEFINITIONS_IN_MEMORY + 10_000
    assert tests > RESULTS_IN_MEMORY
    path = tmp_path / "large.trx"
    generate_trx(path, tests)
    read, peak, before, seconds, outcome = child_read(path)
    print(f"trx: reader +{peak - before:.0f} MiB in {seconds:.2f} s ({outcome})")
    assert read == tests, outcome
    assert peak - before < BUDGET_MIB


def test_worker_memory_stays_under_budget(hostile, tmp_path):
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    for kind, tests in (("flood", 1), ("text", 2)):
        peak, before, seconds, outcome = child_worker(hostile[kind], url, str(tmp_path / "m"))
        print(f"{kind}: worker +{peak - before:.0f} MiB in {seconds:.2f} s ({outcome})")
        assert outcome.startswith(f"processed: tests={tests} "), outcome
        assert peak - before < BUDGET_MIB


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["flood", "text"])
def test_hostile_uploads_are_accepted_and_processed_with_a_warning(
    hostile, kind, client, django_capture_on_commit_callbacks
):
    data = hostile[kind].read_bytes()
    content_type = "application/gzip" if kind == "flood" else "application/xml"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_xml(client, data, content_type=content_type)
    assert response.status_code == 202, response.content
    body = client.get(response.json()["url"]).json()
    assert body["status"] == "processed", body
    assert body["counts"]["tests"] == (1 if kind == "flood" else 2)
    if kind == "text":
        assert any("PASSLINE_MAX_TEXT_BYTES" in w for w in body["warnings"]), body
