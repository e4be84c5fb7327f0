"""Cache ids of tests and results per database session (PostgreSQL only).

Ingest takes an id for every new test and every result: about 200,000 for a project's
first 100k-case report. With the default cache of 1, every nextval() locks the
sequence's buffer and every 32nd writes WAL; with 1,000 cached per session, COPY into
``ingest_result`` cost the server about 12% less. The price is gaps (a session's unused
cached ids are lost when it ends) and ids that are only ordered within one session,
which nothing relies on: ids are keys and tie-breakers, not counters or timestamps.
"""

from django.db import migrations

TABLES = ("ingest_test", "ingest_result")
CACHE = 1000


def _set_cache(schema_editor, size: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET CACHE {size}")


def cache_ids(apps, schema_editor):
    _set_cache(schema_editor, CACHE)


def uncache_ids(apps, schema_editor):
    _set_cache(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0005_result_and_test_fewer_indexes"),
    ]

    operations = [migrations.RunPython(cache_ids, uncache_ids, elidable=False)]
