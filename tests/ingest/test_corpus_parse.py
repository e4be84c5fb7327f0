"""Every file of the shared JUnit corpus is read with the right count or refused clearly.

The corpus (../shared/junit-corpus, see its README) describes each file in MANIFEST.tsv:
`testcases` is an independent lxml count of <testcase> elements, and files whose notes
say MALFORMED or NOT JUnit (or that lxml could not parse) must be refused.
"""

import csv
import io
import math

import pytest

from ingest.decompress import open_report
from ingest.junit import OUTCOMES, JUnitError, ReportReader, check_report_head
from tests.conftest import CORPUS_DIR

HEAD_BYTES = 64 * 1024
MANIFEST = CORPUS_DIR / "MANIFEST.tsv"


def _rows() -> list:
    if not MANIFEST.is_file():
        return [pytest.param(None, id="corpus-absent")]
    with MANIFEST.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [pytest.param(row, id=row["path"]) for row in rows]


def must_refuse(row: dict) -> bool:
    notes = row["notes"]
    # utf-16-le-bad-encoding-name.xml declares encoding="UTF-16 LE", which libxml2
    # cannot parse; its manifest row says "(unparseable)" without MALFORMED.
    return (
        "MALFORMED" in notes
        or "NOT JUnit" in notes
        or row["root_element"] in ("(unparseable)", "(empty)")
    )


def decompressed(path) -> bytes:
    with path.open("rb") as raw:
        return open_report(raw, max_decompressed_bytes=50 * 1024 * 1024).read()


@pytest.mark.corpus
@pytest.mark.parametrize("row", _rows())
def test_corpus_file(row, corpus_dir):
    data = decompressed(corpus_dir / row["path"])
    head = data[:HEAD_BYTES]
    complete = len(data) <= HEAD_BYTES

    if must_refuse(row):
        with pytest.raises(JUnitError) as caught:
            list(ReportReader(io.BytesIO(data)))
        assert caught.value.detail.strip()
        if complete:
            with pytest.raises(JUnitError) as caught:
                check_report_head(head, complete=True)
            assert caught.value.detail.strip()
        return

    check_report_head(head, complete=complete)  # the upload API must not refuse it
    reader = ReportReader(io.BytesIO(data))
    records = list(reader)
    assert len(records) == reader.testcases == int(row["testcases"])
    for record in records:
        assert record.outcome in OUTCOMES
        assert math.isfinite(record.duration)
        assert record.duration >= 0
        assert record.attempts >= 1


@pytest.mark.corpus
def test_corpus_gzip_file_is_read_through_open_report(corpus_dir):
    path = corpus_dir / "files/junitxml-testlogger/gitlab-ci-dotnet.xml.gz"
    if not path.is_file():
        pytest.skip(f"{path} is not in this corpus")
    with path.open("rb") as raw:
        stream = open_report(raw, max_decompressed_bytes=50 * 1024 * 1024)
        assert sum(1 for _ in ReportReader(stream)) == 3
