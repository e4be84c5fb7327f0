"""PostgreSQL COPY path of the result store: CopyStore and TestIds, without threads."""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from ingest import identity
from ingest.models import Result
from ingest.models import Test as TestModel
from ingest.result_store.copy import CopyStore
from ingest.result_store.rows import FAILED, PASSED, Target
from ingest.result_store.test_ids import TestIds
from tests.factories import CategoryFactory, RunFactory, UploadFactory
from tests.ingest.result_store_helpers import writer_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's; SQLite always uses the set-based path")


@pytest.fixture
def upload():
    return UploadFactory(run=RunFactory(is_complete=False))


@pytest.fixture
def category(upload):
    return CategoryFactory(project=upload.project, name="Auth")


def _row(name, outcome=PASSED, *, file="", category_id=0):
    ident = identity.test_identity("pkg.C", name)
    return [ident, "pkg.C", name, file, "s", outcome, False, 1, 0.5, "", category_id]


def _store(upload) -> CopyStore:
    target = Target(
        project_id=upload.project_id,
        run_id=upload.run_id,
        upload_id=upload.pk,
        category_forced=False,
    )
    return CopyStore(target, first_seen_at=timezone.now())


def _known(upload, *names, file=""):
    for name in names:
        TestModel.objects.create(
            project=upload.project,
            identity=identity.test_identity("pkg.C", name),
            classname="pkg.C",
            name=name,
            file=file,
        )


def test_copies_new_tests_and_results(upload, category):
    with transaction.atomic(), connection.connection.cursor() as cursor:
        store = _store(upload)
        rows = [_row("a", category_id=category.pk), _row("b", FAILED, category_id=category.pk)]
        assert store.write(cursor, rows, more_coming=False)
        store.drop(cursor)
    results = {r.test.name: r.outcome for r in Result.objects.select_related("test")}
    assert results == {"a": PASSED, "b": FAILED}
    assert set(TestModel.objects.values_list("name", flat=True)) == {"a", "b"}


def test_a_test_created_meanwhile_makes_the_chunk_merge_instead(upload, category):
    with transaction.atomic(), connection.connection.cursor() as cursor:
        store = _store(upload)
        # The first chunk preloads the (empty) project: the map now misses "b".
        assert store.write(cursor, [_row("a", category_id=category.pk)], more_coming=True)
        _known(upload, "b")  # as if a concurrent upload had created it
        rows = [_row("b", category_id=category.pk), _row("c", category_id=category.pk)]
        assert not store.write(cursor, rows, more_coming=True)
        store.drop(cursor)
    # The refused chunk left nothing behind: the caller merges it instead.
    assert list(Result.objects.values_list("test__name", flat=True)) == ["a"]
    assert set(TestModel.objects.values_list("name", flat=True)) == {"a", "b"}


def test_a_result_already_in_the_run_makes_the_chunk_merge_instead(upload, category):
    with transaction.atomic(), connection.connection.cursor() as cursor:
        store = _store(upload)
        assert store.write(cursor, [_row("a", category_id=category.pk)], more_coming=True)
        assert not store.write(
            cursor, [_row("a", FAILED, category_id=category.pk)], more_coming=True
        )
        store.drop(cursor)
    assert Result.objects.get().outcome == PASSED


@pytest.mark.parametrize("more_coming", [True, False])
def test_map_and_database_give_the_same_ids_and_fill_files(upload, more_coming):
    _known(upload, "a", "b")
    _known(upload, "c", file="c.py")
    ids = dict(TestModel.objects.values_list("name", "pk"))
    rows = [_row("b", file="b.py"), _row("new"), _row("c", file="other.py"), _row("a")]
    with transaction.atomic(), connection.connection.cursor() as cursor:
        test_ids = TestIds(project_id=upload.project_id)
        found = test_ids.resolve(cursor, rows, more_coming=more_coming)
        assert test_ids.preloaded is more_coming
        test_ids.drop(cursor)
    assert found == [ids["b"], 0, ids["c"], ids["a"]]
    files = dict(TestModel.objects.values_list("name", "file"))
    assert files == {"a": "", "b": "b.py", "c": "c.py"}


def test_preload_waits_for_a_chunk_with_full_chunks_after_it(upload):
    _known(upload, "a")
    with transaction.atomic(), connection.connection.cursor() as cursor:
        test_ids = TestIds(project_id=upload.project_id)
        # The writer's small first chunk cannot tell whether full chunks follow.
        assert test_ids.resolve(cursor, [_row("b")], more_coming=False) == [0]
        assert not test_ids.preloaded
        TestModel.objects.create(
            project=upload.project, identity=identity.test_identity("pkg.C", "b"), name="b"
        )  # as the first chunk's COPY would have
        found = test_ids.resolve(cursor, [_row("a"), _row("b")], more_coming=True)
        assert test_ids.preloaded
        test_ids.drop(cursor)
    assert found == list(TestModel.objects.order_by("name").values_list("pk", flat=True))


def _writer_preloads(upload, category, records: int) -> bool:
    """Write `records` new tests in chunks of 2 after a first chunk of 1."""
    with transaction.atomic():
        writer = writer_for(upload, chunk_size=2, first_chunk_size=1)
        with writer:
            for i in range(records):
                writer.add(
                    identity.test_identity("pkg.C", f"t{i}"),
                    "pkg.C",
                    f"t{i}",
                    "",
                    "s",
                    PASSED,
                    False,
                    1,
                    0.1,
                    "",
                    category.pk,
                )
            writer.finish()
        preloaded = writer.preloaded
    assert Result.objects.filter(upload=upload).count() == records
    return preloaded


def test_the_small_first_chunk_never_causes_a_preload(upload, category):
    # Chunks of 1 (the small first one, flushed while more may come) and 1 (the last).
    assert not _writer_preloads(upload, category, 2)


def test_a_full_chunk_with_more_to_come_causes_a_preload(upload, category):
    # Chunks of 1, 2 and 1: the full second chunk is flushed while more may come.
    assert _writer_preloads(upload, category, 4)


def test_no_preload_for_a_project_bigger_than_the_limit(upload):
    _known(upload, "a", "b", "c")
    with transaction.atomic(), connection.connection.cursor() as cursor:
        test_ids = TestIds(project_id=upload.project_id, preload_limit=2)
        found = test_ids.resolve(cursor, [_row("c"), _row("z")], more_coming=True)
        assert not test_ids.preloaded
        test_ids.drop(cursor)
    assert found[0] == TestModel.objects.get(name="c").pk and found[1] == 0


def test_map_is_forgotten_once_it_outgrows_the_limit(upload):
    with transaction.atomic(), connection.connection.cursor() as cursor:
        test_ids = TestIds(project_id=upload.project_id, preload_limit=2)
        test_ids.resolve(cursor, [_row("a")], more_coming=True)
        assert test_ids.preloaded
        test_ids.learn(["x", "y"], [1, 2])
        assert test_ids.preloaded
        test_ids.learn(["z"], [3])
        assert not test_ids.preloaded  # later chunks ask the database


def test_ids_of_tests_and_results_are_cached_per_session():
    # Migration 0006: one nextval() per new test and per result is the hot path.
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.cache_size FROM pg_sequences s
            WHERE s.schemaname || '.' || s.sequencename IN (
                pg_get_serial_sequence('ingest_test', 'id'),
                pg_get_serial_sequence('ingest_result', 'id'))"""
        )
        assert [size for (size,) in cursor.fetchall()] == [1000, 1000]


def test_identities_compare_byte_by_byte_and_lookups_still_use_the_unique_index():
    # Migration 0010: the default collation's strcoll() made every comparison of a
    # new test's identity in the unique index cost more than the row itself.
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
            WHERE a.attrelid = 'ingest_test'::regclass AND a.attname = 'identity'"""
        )
        assert cursor.fetchone() == ("C",)
        # A lookup table of the default collation (as TestIds and the set-based path
        # create) compares with "C" and is answered from the unique index.
        cursor.execute("CREATE TEMP TABLE pl_probe (identity varchar(40) NOT NULL)")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            """EXPLAIN SELECT t.id FROM pl_probe l
            JOIN ingest_test t ON t.project_id = 1 AND t.identity = l.identity"""
        )
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "test_unique_identity" in plan
