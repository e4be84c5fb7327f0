"""Per-project advisory locks that serialise derive work without touching a row.

PostgreSQL: ``pg_advisory_xact_lock`` on a 64-bit key made of a namespace (top bits)
and the project id, held until the surrounding transaction ends. Uploads never take
these keys, so derive work can never make an upload wait (a row lock on ``Project``
would: creating a Run takes FOR KEY SHARE on its project). SQLite serialises writers
by itself, so this is a no-op there.
"""

from django.db import connection

# Namespaces: "dt" (test stats), "dr" (trends); ingest uses "pl" for runs.
TEST_STATS = 0x6474 << 48
TRENDS = 0x6472 << 48


def project_xact_lock(*, namespace: int, project_id: int) -> None:
    """Wait for the project's advisory lock in ``namespace`` until the transaction ends.

    Precondition: called inside ``transaction.atomic()``.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s::bigint)", [namespace + project_id])
