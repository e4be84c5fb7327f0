"""Generate the demo project's history as JUnit XML (pure: no Django, no I/O).

The history matches DESIGN.md "The example it must get right": the first run on
``main`` (the baseline) passes 523 of 738 tests and the last run on ``main`` passes
621 of 738, with the six service categories and "Other" at their before/after
values. Runs in between improve with noise and two regressions; a few tests are
flaky (Surefire ``flakyFailure`` elements and one test reported twice in a file), a
few are skipped (they stay in the total), some runs arrive as two shards, one older
run lost its "Other" shard (the analytics flag it as incomplete) and two runs are on
a feature branch. Everything comes from one seeded ``random.Random``, so two calls
with the same ``now`` return the same bytes.
"""

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import quoteattr

SLUG = "demo"
NAME = "Demo shop"
TARGET_PERCENT = 90
DEFAULT_BRANCH = "main"
FEATURE_BRANCH = "feature/cache-warmup"
SEED = 738
OTHER = "Other"

# name -> (classname glob of its rule, total tests, passed at baseline, passed at the end)
CATEGORIES: dict[str, tuple[str, int, int, int]] = {
    "Plex": ("plex.*", 32, 18, 28),
    "Cache": ("cache.*", 18, 12, 16),
    "Auth": ("auth.*", 20, 15, 19),
    "Database": ("db.*", 30, 25, 28),
    "Controllers": ("controllers.*", 55, 45, 52),
    "Integration": ("integration.*", 50, 35, 43),
    OTHER: ("*", 533, 373, 435),
}
SERVICE_CATEGORIES = tuple(name for name in CATEGORIES if name != OTHER)

# Modules of each category: the classnames of its tests are "<module>.<Class>".
_MODULES = {
    "Plex": ("plex.transcoder", "plex.library", "plex.stream"),
    "Cache": ("cache.redis_store", "cache.invalidation"),
    "Auth": ("auth.login", "auth.tokens", "auth.permissions"),
    "Database": ("db.migrations", "db.queries", "db.pool"),
    "Controllers": ("controllers.cart", "controllers.checkout", "controllers.account"),
    "Integration": ("integration.payments", "integration.shipping", "integration.search"),
    OTHER: (
        "shop.catalog",
        "shop.orders",
        "shop.pricing",
        "shop.inventory",
        "shop.reviews",
        "shop.notifications",
        "shop.reports",
        "shop.i18n",
        "shop.media",
        "shop.util",
    ),
}
_VERBS = (
    "creates", "updates", "deletes", "lists", "rejects", "retries", "caches", "validates",
    "renders", "parses", "sorts", "filters", "expires", "locks", "exports", "imports",
)  # fmt: skip
_NOUNS = (
    "item", "order", "user", "session", "token", "invoice", "price", "stock", "review",
    "image", "report", "locale", "stream", "playlist", "query", "page",
)  # fmt: skip
_CONDITIONS = (
    "", "_when_empty", "_with_unicode", "_twice", "_concurrently", "_after_timeout",
    "_on_retry", "_for_guest",
)  # fmt: skip

# Runs on the default branch: day offsets from the first run (one every day or two).
_MAIN_DAYS = (
    0, 1, 3, 4, 6, 7, 8, 10, 11, 13, 14, 15, 17, 18, 20, 21, 22, 24, 25, 27, 28, 30, 31, 33,
)  # fmt: skip
# Index of the main run that lost its "Other" shard.
INCOMPLETE_INDEX = 11
# Runs uploaded as two shards (the six categories, then "Other" with final=true).
_SHARDED = frozenset({2, 5, 8, 14, 17, 20, 23})
# index -> {category: tests of the passing set that fail in that run}: regressions.
_REGRESSIONS = {9: {"Auth": 3, OTHER: 8}, 16: {"Database": 2, "Controllers": 3, OTHER: 12}}
# Tests per category that fail by skipping (never fixed), and ones skipped before a fix.
_SKIPPED_TAIL = {"Plex": 1, "Integration": 2, "Controllers": 1, OTHER: 6}
_SKIPPED_BEFORE_FIX = {"Cache": 1, OTHER: 3}
# Tests per category that error rather than fail when not passing.
_ERROR_TAIL = {"Database": 1, "Integration": 2, OTHER: 10}
_FLAKY_POOL = {"Cache": 2, "Integration": 3, "Controllers": 1, OTHER: 4}


@dataclass(frozen=True)
class DemoTest:
    category: str
    classname: str
    name: str
    file: str


@dataclass
class DemoPart:
    """One upload: report files (filename, XML bytes) and whether it is the final part."""

    reports: list[tuple[str, bytes]]
    final: bool


@dataclass
class DemoRun:
    key: str
    branch: str
    commit: str
    build_url: str
    started_at: datetime
    parts: list[DemoPart] = field(default_factory=list)
    # category -> (passed, total) of the results the parts carry (after merging).
    expected: dict[str, tuple[int, int]] = field(default_factory=dict)


def _tests(rng: random.Random) -> dict[str, list[DemoTest]]:
    """Return each category's tests with unique, readable names."""
    tests: dict[str, list[DemoTest]] = {}
    for category, (_glob, total, _base, _end) in CATEGORIES.items():
        modules = _MODULES[category]
        seen: set[tuple[str, str]] = set()
        items: list[DemoTest] = []
        while len(items) < total:
            module = modules[len(items) % len(modules)]
            noun = rng.choice(_NOUNS)
            classname = f"{module}.{noun.title()}Test"
            name = f"test_{rng.choice(_VERBS)}_{noun}{rng.choice(_CONDITIONS)}"
            if (classname, name) in seen:
                continue
            seen.add((classname, name))
            file = f"tests/{module.replace('.', '/')}/test_{noun}.py"
            items.append(DemoTest(category, classname, name, file))
        tests[category] = items
    return tests


@dataclass
class _Plan:
    """Per category: the order in which tests get fixed and how each one fails."""

    order: list[DemoTest]
    kind: dict[DemoTest, str]  # not-passing outcome: failed, error or skipped
    skipped_until_fixed: set[DemoTest]
    flaky: list[DemoTest]


def _plans(rng: random.Random, tests: dict[str, list[DemoTest]]) -> dict[str, _Plan]:
    plans = {}
    for category, (_glob, _total, base, end) in CATEGORIES.items():
        order = list(tests[category])
        rng.shuffle(order)
        tail = order[end:]
        kind = dict.fromkeys(order, "failed")
        skipped = _SKIPPED_TAIL.get(category, 0)
        errors = _ERROR_TAIL.get(category, 0)
        for test in tail[:skipped]:
            kind[test] = "skipped"
        for test in tail[skipped : skipped + errors]:
            kind[test] = "error"
        fixed_later = order[base:end]
        plans[category] = _Plan(
            order=order,
            kind=kind,
            skipped_until_fixed=set(fixed_later[: _SKIPPED_BEFORE_FIX.get(category, 0)]),
            flaky=rng.sample(order[:base], _FLAKY_POOL.get(category, 0)),
        )
    return plans


def _passed_counts(rng: random.Random, n_runs: int) -> list[dict[str, int]]:
    """Return the passed count per category for each main run (exact at both ends)."""
    counts = []
    for i in range(n_runs):
        progress = i / (n_runs - 1)
        row = {}
        for category, (_glob, _total, base, end) in CATEGORIES.items():
            if i in (0, n_runs - 1):
                row[category] = base if i == 0 else end
                continue
            # Faster early, slower late, with a little noise; never past the end value.
            value = base + (end - base) * (1 - (1 - progress) ** 1.6)
            noise = rng.choice((-1, 0, 0, 1)) if end - base > 3 else 0
            row[category] = max(base, min(end, round(value) + noise))
        counts.append(row)
    return counts


def _case_xml(test: DemoTest, outcome: str, flaky: str, duration: float) -> str:
    attrs = (
        f"classname={quoteattr(test.classname)} name={quoteattr(test.name)} "
        f'file={quoteattr(test.file)} time="{duration:.3f}"'
    )
    if outcome == "failed":
        body = '<failure message="assertion failed" type="AssertionError">AssertionError</failure>'
    elif outcome == "error":
        body = '<error message="connection refused" type="ConnectionError">ConnectionError</error>'
    elif outcome == "skipped":
        body = '<skipped message="disabled until the fix lands"/>'
    elif flaky == "flakyFailure":
        body = '<flakyFailure message="timed out" type="TimeoutError">TimeoutError</flakyFailure>'
    else:
        body = ""
    case = f"<testcase {attrs}>{body}</testcase>" if body else f"<testcase {attrs}/>"
    if flaky == "repeat":
        # Reported twice in the same run: failed first, passed on the rerun.
        failed = _case_xml(test, "failed", "", duration)
        return failed + "\n" + case
    return case


def _report(
    category: str, cases: list[tuple[DemoTest, str, str]], at: datetime, rng: random.Random
) -> bytes:
    lines = [
        f'<testsuite name={quoteattr(category)} tests="{len(cases)}" '
        f'timestamp="{at.strftime("%Y-%m-%dT%H:%M:%S")}" hostname="ci-runner">'
    ]
    for test, outcome, flaky in cases:
        lines.append(_case_xml(test, outcome, flaky, rng.uniform(0.005, 2.5)))
    lines.append("</testsuite>")
    body = "\n".join(lines)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n{body}\n</testsuites>\n'.encode()


def _outcomes(
    rng: random.Random, plans: dict[str, _Plan], passed: dict[str, int], regress: dict[str, int]
) -> dict[str, list[tuple[DemoTest, str, str]]]:
    """Return category -> [(test, outcome, flaky marker)] with exactly ``passed`` passing."""
    result = {}
    for category, plan in plans.items():
        base = CATEGORIES[category][2]
        p = passed[category]
        passing = set(plan.order[:p])
        # A regression: long-passing tests fail; as many later fixes land early, so
        # the category's count is still ``p`` minus nothing but its noise.
        broken = set(rng.sample(plan.order[:base], regress.get(category, 0)))
        passing -= broken
        cases = []
        for test in sorted(plan.order, key=lambda t: (t.classname, t.name)):
            if test in passing:
                flaky = ""
                if test in plan.flaky and rng.random() < 0.35:
                    flaky = (
                        "repeat" if test is plan.flaky[0] and category == OTHER else "flakyFailure"
                    )
                cases.append((test, "passed", flaky))
            elif test in broken:
                cases.append((test, "failed", ""))
            elif test in plan.skipped_until_fixed:
                cases.append((test, "skipped", ""))
            else:
                cases.append((test, plan.kind[test], ""))
        result[category] = cases
    return result


def _counts(cases: list[tuple[DemoTest, str, str]]) -> tuple[int, int]:
    return sum(outcome == "passed" for _t, outcome, _f in cases), len(cases)


def _run(
    *,
    key: str,
    branch: str,
    at: datetime,
    cases: dict[str, list[tuple[DemoTest, str, str]]],
    sharded: bool,
    drop_other: bool,
    rng: random.Random,
) -> DemoRun:
    reports = {
        category: (f"{category.lower()}.xml", _report(category, rows, at, rng))
        for category, rows in cases.items()
    }
    services = [reports[name] for name in SERVICE_CATEGORIES]
    if drop_other:
        parts = [DemoPart(services, final=True)]
    elif sharded:
        parts = [DemoPart(services, final=False), DemoPart([reports[OTHER]], final=True)]
    else:
        parts = [DemoPart([*services, reports[OTHER]], final=True)]
    commit = hashlib.sha256(key.encode()).hexdigest()[:40]
    run = DemoRun(
        key=key,
        branch=branch,
        commit=commit,
        build_url=f"https://ci.example.com/demo-shop/builds/{key}",
        started_at=at,
        parts=parts,
    )
    for category, rows in cases.items():
        if not (drop_other and category == OTHER):
            run.expected[category] = _counts(rows)
    return run


def demo_history(*, now: datetime) -> list[DemoRun]:
    """Return the demo runs, oldest first; the last main run starts about a day before ``now``.

    ``now`` must be an aware datetime (UTC). Run keys are "1001", "1002", ... in upload
    order; feature-branch runs have keys "f-…".
    """
    rng = random.Random(SEED)
    tests = _tests(rng)
    plans = _plans(rng, tests)
    counts = _passed_counts(rng, len(_MAIN_DAYS))
    # Start at 06:00 UTC, 34 days before the day before `now`.
    last = (now.astimezone(UTC) - timedelta(days=1)).replace(
        hour=6, minute=0, second=0, microsecond=0
    )
    first = last - timedelta(days=_MAIN_DAYS[-1])
    runs: list[DemoRun] = []
    for i, day in enumerate(_MAIN_DAYS):
        at = first + timedelta(days=day, minutes=rng.randrange(0, 240))
        cases = _outcomes(rng, plans, counts[i], _REGRESSIONS.get(i, {}))
        runs.append(
            _run(
                key=str(1001 + i),
                branch=DEFAULT_BRANCH,
                at=at,
                cases=cases,
                sharded=i in _SHARDED,
                drop_other=i == INCOMPLETE_INDEX,
                rng=rng,
            )
        )
    # Two feature-branch runs: the branch fixes the remaining Cache tests early.
    for n, i in enumerate((18, 21)):
        passed = dict(counts[i], Cache=CATEGORIES["Cache"][1])
        at = runs[i].started_at + timedelta(hours=5)
        cases = _outcomes(rng, plans, passed, {})
        runs.append(
            _run(
                key=f"f-{n + 1}",
                branch=FEATURE_BRANCH,
                at=at,
                cases=cases,
                sharded=False,
                drop_other=False,
                rng=rng,
            )
        )
    runs.sort(key=lambda r: r.started_at)
    return runs
