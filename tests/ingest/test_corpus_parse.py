"""Every file of the shared corpus is read with the right count or refused clearly.

The corpus (../shared/junit-corpus, see its README) describes each file in MANIFEST.tsv:
`testcases` is an independent lxml count of <testcase> elements. NUnit, xUnit.net and
TRX files (marked "NOT JUnit" there) are read by their own readers and counted with
plain lxml here; MALFORMED files and every other format must be refused, both by the
upload API's head check (sniff) and by the reader.
"""

import io
import math

import pytest

from ingest.decompress import open_report
from ingest.junit import OUTCOMES, JUnitError, ReportReader
from ingest.reports import open_reader, sniff
from tests.ingest.corpus import independent_count, manifest, must_refuse, other_format

HEAD_BYTES = 64 * 1024


def _rows() -> list:
    rows = manifest()
    if not rows:
        return [pytest.param(None, id="corpus-absent")]
    return [pytest.param(row, id=row["path"]) for row in rows]


def decompressed(path) -> bytes:
    with path.open("rb") as raw:
        return open_report(raw, max_decompressed_bytes=50 * 1024 * 1024).read()


@pytest.mark.corpus
@pytest.mark.parametrize("row", _rows())
def test_corpus_file(row, corpus_dir):
    path = corpus_dir / row["path"]
    data = decompressed(path)
    head = data[:HEAD_BYTES]
    complete = len(data) <= HEAD_BYTES

    if must_refuse(row):
        with pytest.raises(JUnitError) as caught:
            list(open_reader(io.BytesIO(data)))
        assert caught.value.detail.strip()
        if complete:
            with pytest.raises(JUnitError) as caught:
                sniff(head, complete=True)
            assert caught.value.detail.strip()
        return

    fmt = other_format(row) or "junit"
    assert sniff(head, complete=complete) == fmt  # the upload API must not refuse it
    reader = open_reader(io.BytesIO(data))
    assert reader.format == fmt
    records = list(reader)
    _distinct, elements = independent_count(path, fmt)
    assert len(records) == reader.testcases == elements
    if fmt == "junit":
        assert elements == int(row["testcases"])
    for record in records:
        assert record.outcome in OUTCOMES
        assert math.isfinite(record.duration)
        assert record.duration >= 0
        assert record.attempts >= 1


OTHER_FORMATS = [r for r in _rows() if r.values[0] and other_format(r.values[0])]


@pytest.mark.corpus
@pytest.mark.parametrize("row", OTHER_FORMATS or [pytest.param(None, id="corpus-absent")])
def test_the_junit_reader_alone_still_refuses_other_formats(row, corpus_dir):
    with pytest.raises(JUnitError) as caught:
        list(ReportReader(io.BytesIO(decompressed(corpus_dir / row["path"]))))
    assert caught.value.code == "not_junit"


@pytest.mark.corpus
def test_corpus_gzip_file_is_read_through_open_report(corpus_dir):
    path = corpus_dir / "files/junitxml-testlogger/gitlab-ci-dotnet.xml.gz"
    if not path.is_file():
        pytest.skip(f"{path} is not in this corpus")
    with path.open("rb") as raw:
        stream = open_report(raw, max_decompressed_bytes=50 * 1024 * 1024)
        assert sum(1 for _ in open_reader(stream)) == 3
