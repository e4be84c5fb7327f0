"""Category rules: ordered edits, re-categorisation jobs and the live preview."""

import logging
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max

from ingest.categorize import CategoryMatcher
from ingest.models import Category, CategoryRule, Project, Result, Run, Test
from ingest.patterns import PatternError, pattern_check, pattern_compile
from ingest.services.recategorize_jobs import recategorize_job_start

logger = logging.getLogger("passline.dashboard")

PREVIEW_RUNS = 3
PREVIEW_SCAN_LIMIT = 20_000
PREVIEW_SHOWN = 50
# Wall-clock budget of one preview (a web request): each match is linear-time, but 20,000
# tests times many rules on long names could still hold a web worker for seconds.
PREVIEW_SECONDS = 2.0
_PREVIEW_CLOCK_EVERY = 200


def rule_create(
    *, project: Project, field: str, kind: str, pattern: str, category: Category, user=None
) -> CategoryRule:
    """Append a rule at the end of the project's order and re-categorise."""
    pattern_check(kind=kind, pattern=pattern)
    if category.project_id != project.pk:
        raise ValueError("category of another project")
    with transaction.atomic():
        last = CategoryRule.objects.filter(project=project).aggregate(m=Max("position"))["m"]
        rule = CategoryRule.objects.create(
            project=project,
            category=category,
            field=field,
            kind=kind,
            pattern=pattern,
            position=0 if last is None else last + 1,
        )
        recategorize_job_start(project=project, user=user)
    return rule


def rule_update(
    *, rule: CategoryRule, field: str, kind: str, pattern: str, category: Category, user=None
) -> CategoryRule:
    """Change a rule in place (its position is kept) and re-categorise."""
    pattern_check(kind=kind, pattern=pattern)
    if category.project_id != rule.project_id:
        raise ValueError("category of another project")
    with transaction.atomic():
        rule.field, rule.kind, rule.pattern, rule.category = field, kind, pattern, category
        rule.save(update_fields=["field", "kind", "pattern", "category"])
        recategorize_job_start(project=rule.project, user=user)
    return rule


def rule_delete(*, rule: CategoryRule, user=None) -> None:
    """Delete a rule and re-categorise."""
    with transaction.atomic():
        project = rule.project
        rule.delete()
        _renumber(project)
        recategorize_job_start(project=project, user=user)


def rule_move(*, rule: CategoryRule, direction: str, user=None) -> bool:
    """Swap the rule with its neighbour ("up" = earlier); return False at either end."""
    if direction not in ("up", "down"):
        raise ValueError("direction must be 'up' or 'down'")
    with transaction.atomic():
        rules = _renumber(rule.project)
        index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(rules):
            return False
        a, b = rules[index], rules[other]
        CategoryRule.objects.filter(pk=a.pk).update(position=b.position)
        CategoryRule.objects.filter(pk=b.pk).update(position=a.position)
        recategorize_job_start(project=rule.project, user=user)
    return True


def _renumber(project: Project) -> list[CategoryRule]:
    """Give the rules positions 0..n-1 in their current order (locks them)."""
    rules = list(
        CategoryRule.objects.select_for_update().filter(project=project).order_by("position", "id")
    )
    for i, rule in enumerate(rules):
        if rule.position != i:
            CategoryRule.objects.filter(pk=rule.pk).update(position=i)
            rule.position = i
    return rules


@dataclass
class PreviewRow:
    test: str
    value: str
    category: str
    decided_by: str


@dataclass
class Preview:
    """Which recent tests a candidate rule matches and the category each would get."""

    runs: list[Run]
    scanned: int
    truncated: bool
    matched: int = 0
    # True when the time budget ran out: `scanned` then counts the tests evaluated.
    timed_out: bool = False
    rows: list[PreviewRow] = field(default_factory=list)
    # Category name -> tests it would hold under the rule set with the candidate.
    totals: list[tuple[str, int]] = field(default_factory=list)
    candidate: bool = False


def rule_preview(
    *,
    project: Project,
    field: str | None = None,
    kind: str | None = None,
    pattern: str | None = None,
    category_name: str = "(new rule)",
    replacing: CategoryRule | None = None,
) -> Preview:
    """Evaluate the ordered rules (with an optional candidate) on the latest runs' tests.

    The candidate rule replaces `replacing` at its position, or is appended last. Scans
    the tests of the newest ``PREVIEW_RUNS`` runs (at most ``PREVIEW_SCAN_LIMIT``) and
    lists up to ``PREVIEW_SHOWN`` of those the candidate matches (or, with no candidate,
    the first tests scanned). Stops after ``PREVIEW_SECONDS`` of matching and says so.
    The caller has checked the pattern.
    """
    names = dict(Category.objects.filter(project=project).values_list("pk", "name"))
    rules: list[tuple[str, object, int]] = []
    labels: dict[int, str] = {}
    candidate_id = -1
    saved = CategoryRule.objects.filter(project=project).order_by("position", "id")
    for number, rule in enumerate(saved, start=1):
        if replacing is not None and rule.pk == replacing.pk:
            continue
        labels[rule.pk] = f"rule {number}"
        try:
            compiled = pattern_compile(kind=rule.kind, pattern=rule.pattern)
        except PatternError:  # saved before RE2 or by hand; categorising skips it too
            continue
        rules.append((rule.field, compiled, rule.pk))
        names.setdefault(rule.category_id, "?")
    has_candidate = bool(pattern and field and kind)
    candidate = None
    if has_candidate:
        candidate = pattern_compile(kind=kind, pattern=pattern)
        entry = (field, candidate, candidate_id)
        if replacing is not None:
            position = [r.pk for r in saved].index(replacing.pk)
            rules.insert(position, entry)
        else:
            rules.append(entry)
        labels[candidate_id] = "this rule"
    rule_category = {r.pk: r.category_id for r in saved}
    # The matcher answers with the deciding rule's id (0 = no rule); names come after.
    matcher = CategoryMatcher(rules=rules, default_id=0)

    runs = list(Run.objects.filter(project=project).order_by("-started_at", "-id")[:PREVIEW_RUNS])
    tests = Test.objects.filter(project=project)
    if runs:
        tests = tests.filter(pk__in=Result.objects.filter(run__in=runs).values("test_id"))
    values = list(
        tests.order_by("classname", "name").values_list("file", "classname", "suite", "name")[
            : PREVIEW_SCAN_LIMIT + 1
        ]
    )
    preview = Preview(
        runs=runs,
        scanned=min(len(values), PREVIEW_SCAN_LIMIT),
        truncated=len(values) > PREVIEW_SCAN_LIMIT,
        candidate=has_candidate,
    )
    totals: dict[str, int] = {}
    deadline = time.monotonic() + PREVIEW_SECONDS
    for index, (file, classname, suite, name) in enumerate(values[:PREVIEW_SCAN_LIMIT]):
        if index % _PREVIEW_CLOCK_EVERY == 0 and time.monotonic() > deadline:
            preview.scanned, preview.timed_out = index, True
            break
        fields = {"file": file, "classname": classname, "suite": suite, "name": name}
        decided = matcher.category_for(**fields)
        if decided == candidate_id:
            category = category_name
        elif decided:
            category = names.get(rule_category[decided], "?")
        else:
            category = Category.UNCATEGORIZED
        totals[category] = totals.get(category, 0) + 1
        hit = candidate(fields[field] or "") if candidate is not None else True
        if not hit:
            continue
        preview.matched += 1
        if len(preview.rows) < PREVIEW_SHOWN:
            preview.rows.append(
                PreviewRow(
                    test=f"{classname}::{name}" if classname else name,
                    value=fields[field] if field else file,
                    category=category,
                    decided_by=labels.get(decided, "no rule (default)"),
                )
            )
    preview.totals = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return preview
