"""Questions about a project's categories that the admin asks before changing them."""

from ingest.models import Category, Result, Run


def category_has_results(category: Category) -> bool:
    """Tell whether any result of the category's project is in `category`.

    Results have no index by category (see ``Result.category``), so Django's collector
    no longer protects a category: deleting one that still has results would leave them
    pointing at nothing, and the admin asks this first. One query per run of the
    project, newest first, each through the run's (run, test) index and stopping at the
    first result in the category: a category in use is found in its latest runs; an
    unused one costs a pass over the project's results, which only the rare deletion of
    a category pays. (One SQL statement with a lateral join would let PostgreSQL probe
    every run before it sorts them.)
    """
    runs = Run.objects.filter(project_id=category.project_id).order_by("-started_at", "-pk")
    return any(
        Result.objects.filter(run_id=run_id, category=category).exists()
        for run_id in list(runs.values_list("pk", flat=True))
    )
