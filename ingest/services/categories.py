"""Questions about a project's categories that the admin asks before changing them."""

from django.db import connection

from ingest.models import Category, Result

# One probe per run of the project, newest first, each through the (run, test) index and
# stopping at the first result in the category (LIMIT 1 keeps the planner from turning
# the lateral join into a scan of every result). A category in use is found in its
# latest run; an unused one costs a pass over the project's results, which only the
# rare deletion of a category pays.
_HAS_RESULTS = """
    SELECT EXISTS (
        SELECT 1 FROM ingest_run r
        CROSS JOIN LATERAL (
            SELECT 1 FROM ingest_result x
            WHERE x.run_id = r.id AND x.category_id = %s LIMIT 1
        ) found
        WHERE r.project_id = %s
    )
"""


def category_has_results(category: Category) -> bool:
    """Tell whether any result of the category's project is in `category`.

    Results are not protected by Django's collector (that would scan the whole results
    table, see ``Result.category``): deleting a category that still has results would
    leave them pointing at nothing, so the admin asks this first.
    """
    if connection.vendor != "postgresql":  # SQLite has no lateral join
        return Result.objects.filter(
            run__project_id=category.project_id, category=category
        ).exists()
    with connection.cursor() as cursor:
        cursor.execute(_HAS_RESULTS, [category.pk, category.project_id])
        return bool(cursor.fetchone()[0])
