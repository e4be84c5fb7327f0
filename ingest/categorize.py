"""Choose each result's category: forced by the upload, else the first matching rule.

Rules are compiled once per upload (not per row) by ``ingest.patterns``: globs with
``fnmatch.fnmatchcase`` semantics (case-sensitive, ``*`` crosses ``/``), regexes with RE2,
searched anywhere in the value. Both run in linear time, so no rule can stall a worker. A
rule that does not compile (saved before RE2, or bypassing the forms) is skipped with a
log line, never fatal.
"""

import logging
from collections.abc import Callable

from django.db import transaction

from ingest import signals
from ingest.models import Category, CategoryRule, Project, Result, Test
from ingest.patterns import PatternError, pattern_compile

logger = logging.getLogger("passline.ingest")

_FIELDS = ("file", "classname", "suite", "name")
# Bound the per-upload memo so a million distinct keys cannot grow it without limit.
_MEMO_LIMIT = 50_000
RECATEGORIZE_BATCH = 2_000


def category_uncategorized(*, project_id: int) -> int:
    """Return the id of the project's "Uncategorized" category, creating it if absent."""
    category, _ = Category.objects.get_or_create(project_id=project_id, name=Category.UNCATEGORIZED)
    return category.pk


def category_get_or_create(*, project_id: int, name: str) -> int:
    """Return the id of the project's category called `name`, creating it if absent."""
    category, _ = Category.objects.get_or_create(project_id=project_id, name=name[:200])
    return category.pk


def _compile(rule: CategoryRule) -> Callable[[str], bool] | None:
    try:
        return pattern_compile(kind=rule.kind, pattern=rule.pattern)
    except PatternError as exc:
        logger.warning("category rule skipped", extra={"rule_id": rule.pk, "error": str(exc)})
        return None


class CategoryMatcher:
    """Map a test's (file, classname, suite, name) to a category id; first rule wins."""

    def __init__(self, *, rules: list[tuple[str, Callable[[str], bool], int]], default_id: int):
        self._rules = rules
        self.default_id = default_id
        # Only the fields some rule reads take part in the memo key.
        self._used = tuple(f for f in _FIELDS if any(r[0] == f for r in rules))
        self._memo: dict = {}  # see categorizer()
        self._by_position = [(_FIELDS.index(field), match, cid) for field, match, cid in rules]
        self._categorizer: Callable[[str, str, str, str], int] | None = None

    @classmethod
    def for_project(cls, project: Project | int) -> "CategoryMatcher":
        """Compile the project's ordered rules; the default is its "Uncategorized"."""
        project_id = project if isinstance(project, int) else project.pk
        compiled = []
        for rule in CategoryRule.objects.filter(project_id=project_id).order_by("position", "id"):
            matcher = _compile(rule)
            if matcher is not None and rule.field in _FIELDS:
                compiled.append((rule.field, matcher, rule.category_id))
        return cls(rules=compiled, default_id=category_uncategorized(project_id=project_id))

    @classmethod
    def forced(cls, *, category_id: int) -> "CategoryMatcher":
        """Return a matcher that gives every test `category_id`."""
        return cls(rules=[], default_id=category_id)

    @property
    def has_rules(self) -> bool:
        return bool(self._rules)

    def category_for(self, *, file: str, classname: str, suite: str, name: str) -> int:
        """Return the category id of the first rule matching the test, else the default."""
        if not self._rules:
            return self.default_id
        if self._categorizer is None:
            self._categorizer = self.categorizer()
        return self._categorizer(file, classname, suite, name)

    def categorizer(self) -> Callable[[str, str, str, str], int]:
        """Return ``category(file, classname, suite, name) -> id`` for a hot loop.

        Positional and memoised on the fields the rules read: a report repeats a few
        hundred classnames (or files) over 100,000 tests, so the rules run once per
        distinct value and every other test costs one dict lookup. When the rules read
        one field, that value itself is the key (no tuple to build per test).
        """
        if not self._rules:
            default = self.default_id
            return lambda file, classname, suite, name: default
        get = self._memo.get
        miss = self._miss
        if len(self._used) == 1:
            position = _FIELDS.index(self._used[0])

            def category(file: str, classname: str, suite: str, name: str) -> int:
                values = (file, classname, suite, name)
                found = get(values[position])
                return miss(values[position], values) if found is None else found

            return category
        positions = [_FIELDS.index(f) for f in self._used]

        def category_by_tuple(file: str, classname: str, suite: str, name: str) -> int:
            values = (file, classname, suite, name)
            key = tuple([values[i] for i in positions])
            found = get(key)
            return miss(key, values) if found is None else found

        return category_by_tuple

    def _miss(self, key, values: tuple[str, str, str, str]) -> int:
        """Run the rules for a key not memoised yet and remember the answer."""
        found = self._match(values)
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = found
        return found

    def _match(self, values: tuple[str, str, str, str]) -> int:
        """Run the rules on (file, classname, suite, name); None counts as empty."""
        for position, match, category_id in self._by_position:
            if match(values[position] or ""):
                return category_id
        return self.default_id


def project_recategorize(*, project_id: int) -> int:
    """Re-evaluate the rules for every non-forced result of the project.

    Returns the number of results whose category changed. Runs in batches of tests in
    one transaction, then sends ``project_recategorized`` after commit.
    """
    matcher = CategoryMatcher.for_project(project_id)
    changed = 0
    with transaction.atomic():
        tests = (
            Test.objects.filter(project_id=project_id)
            .order_by("pk")
            .values_list("pk", "file", "classname", "suite", "name")
        )
        by_category: dict[int, list[int]] = {}
        pending = 0
        for pk, file, classname, suite, name in tests.iterator(chunk_size=RECATEGORIZE_BATCH):
            category_id = matcher.category_for(
                file=file, classname=classname, suite=suite, name=name
            )
            by_category.setdefault(category_id, []).append(pk)
            pending += 1
            if pending >= RECATEGORIZE_BATCH:
                changed += _apply(project_id, by_category)
                by_category, pending = {}, 0
        changed += _apply(project_id, by_category)
        signals.send_after_commit(signals.project_recategorized, project_id=project_id)
    logger.info("project recategorized", extra={"project_id": project_id, "changed": changed})
    return changed


def _apply(project_id: int, by_category: dict[int, list[int]]) -> int:
    changed = 0
    for category_id, test_ids in by_category.items():
        changed += (
            Result.objects.filter(test_id__in=test_ids, category_forced=False)
            .exclude(category_id=category_id)
            .update(category_id=category_id)
        )
    return changed
