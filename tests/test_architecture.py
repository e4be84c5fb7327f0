"""Import rules, checked by walking each module's imports with ``ast``.

The allowed-dependency table below is the architecture: pure domain modules take plain
values and return plain values, ``ingest`` never imports ``dashboard``, and the CI
uploader runs on the standard library alone.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
STDLIB = frozenset(sys.stdlib_module_names)

# Pure modules (and packages): stdlib, the listed third-party parsers, and each other.
PURE = (
    "ingest.junit",
    "ingest.reports",
    "ingest.decompress",
    "ingest.identity",
    "ingest.percent",
    "ingest.patterns",
    "dashboard.analytics",
)
PURE_THIRD_PARTY = frozenset({"lxml", "junitparser", "ijson", "re2"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_under(*packages: str) -> list[Path]:
    """Return the .py files of ``packages`` (a package dir or a single module), sorted."""
    found = []
    for package in packages:
        base = REPO_ROOT.joinpath(*package.split("."))
        if base.with_suffix(".py").is_file():
            found.append(base.with_suffix(".py"))
        elif base.is_dir():
            found.extend(p for p in base.rglob("*.py") if "migrations" not in p.parts)
    return sorted(found)


def imports_of(path: Path) -> set[str]:
    """Return the absolute dotted names ``path`` imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target != "__future__":
                found.add(target)
    return found


def is_under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(paths, allowed) -> list[str]:
    return sorted(
        f"{module_name(path)} imports {target}"
        for path in paths
        for target in imports_of(path)
        if not allowed(target)
    )


def test_walker_sees_the_modules_it_checks():
    # Without this, a renamed package would make every rule below pass vacuously.
    for package in ("ingest", "dashboard", "passline_upload", *PURE):
        assert modules_under(package), package
    assert "ingest.junit.model" in imports_of(REPO_ROOT / "ingest" / "junit" / "reader.py")


def test_ingest_never_imports_dashboard():
    assert violations(modules_under("ingest"), lambda t: not is_under(t, ["dashboard"])) == []


@pytest.mark.parametrize("pure", PURE)
def test_pure_modules_import_no_django(pure):
    def allowed(target: str) -> bool:
        top = target.partition(".")[0]
        return top in STDLIB or top in PURE_THIRD_PARTY or is_under(target, PURE)

    assert violations(modules_under(pure), allowed) == []


# Pages, the JSON API and the exports get every figure from dashboard.selectors: they
# import no model of dashboard's and no database API.
THIN = ("dashboard.pages", "dashboard.api", "dashboard.exports")


@pytest.mark.parametrize("thin", THIN)
def test_pages_api_and_exports_read_figures_only_through_selectors(thin):
    assert modules_under(thin)
    forbidden = ["dashboard.models", "django.db", "dashboard.derive"]
    if thin == "dashboard.pages":
        # Page views look up nothing themselves: runs, tests and categories too come
        # from selectors.
        forbidden.append("ingest.models")
    assert violations(modules_under(thin), lambda t: not is_under(t, forbidden)) == []


def test_uploader_imports_only_the_standard_library():
    def allowed(target: str) -> bool:
        top = target.partition(".")[0]
        return top in STDLIB or top == "passline_upload"

    assert violations(modules_under("passline_upload"), allowed) == []


def test_pure_modules_and_uploader_load_without_django_at_run_time():
    # The ast walk misses package __init__ side effects; a clean interpreter does not.
    names = [module_name(p) for p in modules_under(*PURE, "passline_upload")]
    names = [n for n in names if not n.endswith("__main__")]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rest_framework', 'celery', 'passline'})\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# Feedback (notify): the message and event modules are pure; ingest knows nothing of
# notify (it only sends signals), and of dashboard only the settings pages use it.
NOTIFY_PURE = (
    "notify.events",
    "notify.messages",
    "notify.lifecycle_messages",
    "notify.chat",
    "notify.webhooks",
)


@pytest.mark.parametrize("pure", NOTIFY_PURE)
def test_notify_message_modules_are_pure(pure):
    assert modules_under(pure), pure

    def allowed(target: str) -> bool:
        return target.partition(".")[0] in STDLIB or is_under(target, NOTIFY_PURE)

    assert violations(modules_under(pure), allowed) == []


def test_only_settings_pages_import_notify():
    assert violations(modules_under("ingest"), lambda t: not is_under(t, ["notify"])) == []
    others = [p for p in modules_under("dashboard") if "project_settings" not in p.parts]
    assert violations(others, lambda t: not is_under(t, ["notify"])) == []
    assert "notify" in imports_of(
        REPO_ROOT / "dashboard" / "project_settings" / "integration_views.py"
    )
