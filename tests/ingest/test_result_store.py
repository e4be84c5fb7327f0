"""ResultWriter: staged set-based writes of tests and merged results."""

import pytest
from django.db import connection, transaction

from ingest import identity
from ingest.models import Result
from ingest.models import Test as TestModel
from ingest.result_store import ERROR, FAILED, PASSED, SKIPPED, merge_row
from tests.factories import CategoryFactory, RunFactory, UploadFactory
from tests.ingest.result_store_helpers import writer_for

pytestmark = pytest.mark.django_db


def _row(name, outcome, *, classname="pkg.C", flaky=False, attempts=1, duration=1.0, file=""):
    return dict(
        identity=identity.test_identity(classname, name),
        classname=classname,
        name=name,
        file=file,
        suite="s",
        outcome=outcome,
        flaky=flaky,
        attempts=attempts,
        duration=duration,
        message="" if outcome == PASSED else f"{name} broke",
    )


def _write(upload, rows, *, category, forced=False, chunk_size=1000, fresh=False, merged=None):
    """Write `rows` as one upload; `merged` checks which path PostgreSQL took."""
    with transaction.atomic():
        writer = writer_for(upload, forced=forced, chunk_size=chunk_size, run_has_results=not fresh)
        with writer:
            for row in rows:
                writer.add(**row, category_id=category.pk)
            counts = writer.finish()
        if merged is not None and connection.vendor == "postgresql":
            # COPY fast path unless some row had to be merged with an existing one.
            assert writer.merging is merged
        return counts


@pytest.fixture
def upload():
    return UploadFactory(run=RunFactory(is_complete=False))


@pytest.fixture
def category(upload):
    return CategoryFactory(project=upload.project, name="Auth")


def _outcomes(run):
    return {
        r.test.name: (r.outcome, r.flaky, r.attempts)
        for r in Result.objects.filter(run=run).select_related("test")
    }


@pytest.mark.parametrize("chunk_size", [1000, 2])
def test_writes_tests_and_results_with_counts(upload, category, chunk_size):
    rows = [_row("a", PASSED), _row("b", FAILED), _row("c", ERROR), _row("d", SKIPPED)]
    counts = _write(upload, rows, category=category, chunk_size=chunk_size, merged=False)
    assert (counts.tests, counts.passed, counts.failed, counts.errors, counts.skipped) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert counts.flaky == 0
    assert TestModel.objects.filter(project=upload.project).count() == 4
    assert _outcomes(upload.run) == {
        "a": (PASSED, False, 1),
        "b": (FAILED, False, 1),
        "c": (ERROR, False, 1),
        "d": (SKIPPED, False, 1),
    }
    result = Result.objects.get(test__name="b")
    assert result.message == "b broke"
    assert result.category == category
    assert result.upload == upload


@pytest.mark.parametrize("chunk_size", [1000, 1])
@pytest.mark.parametrize("fresh", [False, True])
def test_repeated_testcase_in_one_upload_is_merged_and_flaky(upload, category, chunk_size, fresh):
    rows = [_row("a", FAILED), _row("b", FAILED), _row("a", PASSED), _row("b", ERROR)]
    # Within one chunk the repeat is merged in Python; across chunks in SQL.
    merged = chunk_size == 1
    counts = _write(
        upload, rows, category=category, chunk_size=chunk_size, fresh=fresh, merged=merged
    )
    assert (counts.tests, counts.passed, counts.failed, counts.errors, counts.flaky) == (
        2,
        1,
        0,
        1,
        1,
    )
    assert _outcomes(upload.run) == {"a": (PASSED, True, 2), "b": (ERROR, False, 2)}
    assert Result.objects.get(test__name="a").duration == pytest.approx(2.0)


def test_second_part_merges_into_existing_results(upload, category):
    _write(upload, [_row("a", FAILED), _row("b", PASSED)], category=category, merged=False)
    part2 = UploadFactory(run=upload.run)
    rows = [_row("a", PASSED), _row("c", SKIPPED)]
    counts = _write(part2, rows, category=category, merged=True)
    # Counts describe this part only; results are merged over the run.
    assert (counts.tests, counts.passed, counts.skipped, counts.flaky) == (2, 1, 1, 0)
    assert _outcomes(upload.run) == {
        "a": (PASSED, True, 2),
        "b": (PASSED, False, 1),
        "c": (SKIPPED, False, 1),
    }
    assert TestModel.objects.filter(project=upload.project).count() == 3


def test_existing_tests_are_reused_and_file_filled_in(upload, category):
    _write(upload, [_row("a", PASSED)], category=category)
    other_run = UploadFactory(run=RunFactory(project=upload.project))
    _write(other_run, [_row("a", PASSED, file="tests/test_a.py")], category=category, merged=False)
    test = TestModel.objects.get(project=upload.project)
    assert test.file == "tests/test_a.py"
    assert Result.objects.filter(test=test).count() == 2


def test_big_upload_fills_in_missing_files_of_known_tests(upload, category):
    # Two chunks or more: PostgreSQL resolves ids from the project's preloaded tests.
    _write(upload, [_row("a", PASSED), _row("b", PASSED, file="b.py")], category=category)
    later = UploadFactory(run=RunFactory(project=upload.project))
    rows = [_row("a", FAILED, file="a.py"), _row("b", PASSED, file="other.py"), _row("c", PASSED)]
    counts = _write(later, rows, category=category, chunk_size=1, merged=False)
    files = dict(TestModel.objects.filter(project=upload.project).values_list("name", "file"))
    # A missing file is filled in; a known one is never overwritten.
    assert files == {"a": "a.py", "b": "b.py", "c": ""}
    assert (counts.tests, counts.passed, counts.failed) == (3, 2, 1)
    assert _outcomes(later.run) == {
        "a": (FAILED, False, 1),
        "b": (PASSED, False, 1),
        "c": (PASSED, False, 1),
    }


def test_later_part_with_other_tests_is_not_merged(upload, category):
    _write(upload, [_row("a", FAILED), _row("b", PASSED)], category=category, chunk_size=1)
    part2 = UploadFactory(run=upload.run)
    rows = [_row("c", PASSED), _row("d", SKIPPED), _row("e", ERROR)]
    counts = _write(part2, rows, category=category, chunk_size=2, merged=False)
    assert (counts.tests, counts.passed, counts.skipped, counts.errors) == (3, 1, 1, 1)
    assert set(_outcomes(upload.run)) == {"a", "b", "c", "d", "e"}
    assert Result.objects.filter(upload=part2).count() == 3


def test_chunks_after_a_merge_still_count_only_this_upload(upload, category):
    # Part 2 repeats "a" of part 1 in its second chunk: from there on it is merged in
    # SQL, and its counts are seeded from what its first chunk had already written.
    _write(upload, [_row("a", FAILED)], category=category)
    part2 = UploadFactory(run=upload.run)
    rows = [_row("x", PASSED), _row("y", FAILED), _row("a", PASSED), _row("z", SKIPPED)]
    counts = _write(part2, rows, category=category, chunk_size=2, merged=True)
    assert (counts.tests, counts.passed, counts.failed, counts.skipped, counts.flaky) == (
        4,
        2,
        1,
        1,
        0,
    )
    assert _outcomes(upload.run)["a"] == (PASSED, True, 2)


def test_forced_category_wins_over_rule_category_on_merge(upload, category):
    other = CategoryFactory(project=upload.project, name="Forced")
    _write(upload, [_row("a", PASSED)], category=category)
    part2 = UploadFactory(run=upload.run)
    _write(part2, [_row("a", PASSED)], category=other, forced=True, merged=True)
    result = Result.objects.get(test__name="a")
    assert (result.category, result.category_forced) == (other, True)


def test_non_finite_duration_is_stored_as_zero(upload, category):
    _write(upload, [_row("a", PASSED, duration=float("nan"))], category=category)
    assert Result.objects.get().duration == 0.0


def test_merge_row_prefers_error_over_failed_over_skipped():
    row = [None, "", "", "", "", SKIPPED, False, 1, 0.0, "", 1]
    merge_row(row, [None, "", "", "f.py", "", FAILED, False, 1, 0.5, "boom", 1])
    assert row[5:10] == [FAILED, False, 2, 0.5, "boom"]
    assert row[3] == "f.py"
    merge_row(row, [None, "", "", "", "", ERROR, False, 1, 0.5, "", 1])
    assert row[5] == ERROR
    merge_row(row, [None, "", "", "", "", PASSED, False, 1, 0.5, "", 1])
    assert row[5:7] == [PASSED, True]
