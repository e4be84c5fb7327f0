"""`manage.py importreports`: files on disk go through upload_create like an upload."""

import gzip
import io

import pytest
from django.core.management import CommandError, call_command

from ingest.models import Run, Upload
from tests.factories import ProjectFactory
from tests.ingest.test_processing import case, report

pytestmark = pytest.mark.django_db(transaction=True)


def _run(*args) -> str:
    out = io.StringIO()
    call_command("importreports", *args, stdout=out)
    return out.getvalue()


def test_imports_files_as_one_part_and_prints_counts(tmp_path):
    ProjectFactory(slug="shop")
    a = tmp_path / "a.xml"
    a.write_bytes(report(case("a"), case("b", "failed")))
    b = tmp_path / "b.xml.gz"
    b.write_bytes(gzip.compress(report(case("c", "skipped"))))
    out = _run("shop", str(a), str(b), "--run", "ci-7", "--branch", "main", "--final")
    upload = Upload.objects.get()
    assert f"upload {upload.pk} run ci-7: processed" in out
    assert "tests=3 passed=1 failed=1 errors=0 skipped=1 flaky=0" in out
    run = Run.objects.get(key="ci-7")
    assert (run.branch, run.is_complete) == ("main", True)
    assert upload.files.count() == 2


def test_timestamp_and_category_options(tmp_path):
    ProjectFactory(slug="shop")
    a = tmp_path / "a.xml"
    a.write_bytes(report(case("a")))
    _run("shop", str(a), "--run", "r", "--timestamp", "2026-02-03T04:05:06Z", "--category", "Auth")
    run = Run.objects.get(key="r")
    assert run.started_at.isoformat() == "2026-02-03T04:05:06+00:00"
    assert run.timestamp_explicit
    assert run.results.get().category.name == "Auth"


def test_bad_report_fails_with_its_error(tmp_path):
    ProjectFactory(slug="shop")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<testsuite><testcase name='a'>")
    with pytest.raises(CommandError, match="line 1"):
        _run("shop", str(bad))
    assert Upload.objects.get().status == Upload.Status.FAILED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "x.xml"], "no project"),
        (["shop", "missing.xml"], "no such file"),
        (["shop", "a.xml", "--timestamp", "yesterday"], "ISO 8601"),
    ],
)
def test_refuses_bad_arguments(tmp_path, monkeypatch, args, message):
    ProjectFactory(slug="shop")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.xml").write_bytes(report(case("a")))
    with pytest.raises(CommandError, match=message):
        _run(*args)
