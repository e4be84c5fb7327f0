"""Compare test identities byte by byte (PostgreSQL only): ``COLLATE "C"``.

An identity is 40 hexadecimal digits, so every collation orders and matches them alike;
only the cost differs. Under the database's default collation each comparison goes
through the locale's strcoll(), and a first report of 100,000 tests makes about two
million of them while its rows go into the unique (project, identity) index in random
order (identities are hashes). Measured on PostgreSQL 15 (COPY of 100,000 new tests,
server CPU): 0.41-0.44 s with "C", 0.50-0.53 s under C.UTF-8 and 0.58-0.64 s under an
en-US collation, the default of many installations (the official Docker image's among
them).

Changing only the collation of a varchar column rewrites no rows; PostgreSQL rebuilds
the indexes on the column (the unique one), holding the table's lock meanwhile: about
a second per million tests. Queries are unchanged: a column of the default collation
(the lookup and staging tables of ingest) or a parameter yields to "C" when compared.
"""

from django.db import migrations

ALTER = 'ALTER TABLE ingest_test ALTER COLUMN identity TYPE varchar(40) COLLATE "{}"'


def _collate(schema_editor, collation: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALTER.format(collation))


def collate_c(apps, schema_editor):
    _collate(schema_editor, "C")


def collate_default(apps, schema_editor):
    _collate(schema_editor, "default")


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0009_recategorizejob_published_at"),
    ]

    operations = [migrations.RunPython(collate_c, collate_default, elidable=False)]
