"""Owners of tests, from the project's CODEOWNERS (``dashboard.analytics.owners``).

Owners are resolved when read, for the tests being shown: the project's CODEOWNERS is
parsed and compiled once per process and version (keyed by its sha256), and each test's
path (its ``file``, else its classname as a path) is matched once with one regex call.
Nothing per test is stored, so a new CODEOWNERS applies at once to every test.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from dashboard.analytics.owners import CodeOwners as Parsed
from dashboard.analytics.owners import owner_matches, owners_map, parse
from dashboard.models import CodeOwners
from ingest.models import Project, Test

CHUNK = 5000  # ids per IN (...) query: SQLite allows 32,766 variables


@lru_cache(maxsize=64)
def _compiled(sha256: str, text: str) -> Parsed:
    return parse(text)


def codeowners_get(*, project: Project) -> Parsed:
    """Return the project's parsed CODEOWNERS (empty without one). Queries: 1."""
    row = CodeOwners.objects.filter(project=project).values_list("sha256", "text").first()
    return _compiled(*row) if row else parse("")


def codeowners_row_get(*, project: Project) -> CodeOwners | None:
    """Return the project's stored CODEOWNERS row, or None. Queries: 1."""
    return CodeOwners.objects.filter(project=project).first()


def owners_for_paths(
    *, codeowners: Parsed, tests: dict[int, tuple[str, str]]
) -> dict[int, list[str]]:
    """Return owners per test id for ``{id: (file, classname)}`` already read. Queries: 0."""
    return {k: list(v) for k, v in owners_map(codeowners, tests).items()}


def owners_for_tests(
    *, project: Project, test_ids: Iterable[int], codeowners: Parsed | None = None
) -> dict[int, list[str]]:
    """Return ``{test_id: [owner, ...]}`` for the project's tests ``test_ids``.

    Tests without an owner map to ``[]``; with rules, ids of other projects are left out.
    Queries: 1 for the CODEOWNERS (none when ``codeowners`` is given), then none when
    the project has no rules, else 1 per 5,000 ids.
    """
    codeowners = codeowners if codeowners is not None else codeowners_get(project=project)
    ids = list(dict.fromkeys(test_ids))
    if not codeowners.rules:
        return {test_id: [] for test_id in ids}
    paths: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = Test.objects.filter(project=project, pk__in=ids[start : start + CHUNK])
        paths.update({pk: (f, c) for pk, f, c in rows.values_list("pk", "file", "classname")})
    return owners_for_paths(codeowners=codeowners, tests=paths)


def owner_filter(items: list[dict], owner: str | None) -> list[dict]:
    """Return the items (each with ``owners``) owned by ``owner``; all when no filter."""
    if not owner:
        return items
    return [item for item in items if owner_matches(item.get("owners") or (), owner)]


def with_owners(*, project: Project, items: list[dict], key: str = "test_id") -> list[dict]:
    """Add ``owners`` to each item (dicts with a test id under ``key``), in place."""
    found = owners_for_tests(project=project, test_ids=[i[key] for i in items if i.get(key)])
    for item in items:
        item["owners"] = found.get(item.get(key), [])
    return items
