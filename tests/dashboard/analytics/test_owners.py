"""CODEOWNERS parsing and matching (GitHub semantics), table-driven."""

import time

import pytest

from dashboard.analytics.owners import owner_matches, owners_map, parse, test_path

# (pattern, path, matches)
PATTERNS = [
    ("*", "a.py", True),
    ("*", "deep/in/side/a.py", True),
    ("*.js", "app.js", True),
    ("*.js", "web/src/app.js", True),
    ("*.js", "web/src/app.jsx", False),
    ("*.go", "cmd/main.go", True),
    # A pattern without a slash matches at any depth, files and directories.
    ("docs", "docs", True),
    ("docs", "docs/guide.md", True),
    ("docs", "src/docs/guide.md", True),
    ("docs", "documents/a.md", False),
    # A leading slash anchors at the root.
    ("/docs", "docs/guide.md", True),
    ("/docs", "src/docs/guide.md", False),
    # A slash in the middle anchors too.
    ("docs/api", "docs/api/v1.md", True),
    ("docs/api", "src/docs/api/v1.md", False),
    # A trailing slash matches directories only: what is beneath.
    ("apps/", "apps/web/x.py", True),
    ("apps/", "src/apps/web/x.py", True),
    ("apps/", "apps", False),
    ("/build/logs/", "build/logs/today.log", True),
    ("/build/logs/", "x/build/logs/today.log", False),
    # `dir/*` matches direct children only (GitHub's documented behaviour).
    ("docs/*", "docs/getting-started.md", True),
    ("docs/*", "docs/build-app/troubleshooting.md", False),
    # `**`
    ("**/logs", "logs/a", True),
    ("**/logs", "build/logs/a", True),
    ("**/logs", "deeply/nested/logs/a", True),
    ("**/logs", "build/logsx/a", False),
    ("docs/**", "docs/a/b/c.md", True),
    ("docs/**", "src/docs/a.md", False),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "a/x/y/bc", False),
    ("**", "any/thing", True),
    # `?` is one character, never a slash.
    ("file?.txt", "file1.txt", True),
    ("file?.txt", "file12.txt", False),
    ("a?b", "a/b", False),
    # `*` never crosses a slash.
    ("/src/*.py", "src/a.py", True),
    ("/src/*.py", "src/sub/a.py", False),
    ("src/*/test_*.py", "src/auth/test_login.py", True),
    ("src/*/test_*.py", "src/auth/x/test_login.py", False),
    # Several wildcards in one segment.
    ("*test*login*", "tests/test_user_login_flow.py", True),
    ("*test*login*", "tests/login_test.py", False),
    # Escapes.
    ("\\#notes", "#notes", True),
    ("my\\ file", "my file", True),
    # Classname-derived paths.
    ("**/com/acme/auth/", "com/acme/auth/LoginTest", True),
    ("/tests/", "tests/test_api/TestUpload", True),
]


@pytest.mark.parametrize(("pattern", "path", "matches"), PATTERNS)
def test_pattern_matching(pattern, path, matches):
    codeowners = parse(f"{pattern} @owner\n")
    assert codeowners.problems == ()
    assert codeowners.owners_for(path) == (("@owner",) if matches else ())


GITHUB_EXAMPLE = """\
# This is a comment.
*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
"""

# (path, owners): the last matching line wins; a line without owners clears them.
LAST_MATCH = [
    ("README.md", ("@global-owner1", "@global-owner2")),
    ("web/app.js", ("@js-owner",)),
    ("main.go", ("docs@example.com",)),
    ("notes.txt", ("@octo-org/octocats",)),
    ("build/logs/x.log", ("@octocat",)),  # `**/logs` comes after `/build/logs/`
    ("docs/getting-started.md", ("@doctocat",)),  # `/docs/` after `docs/*`
    ("scripts/deploy.sh", ("@doctocat", "@octocat")),
    ("apps/web/x.py", ("@octocat",)),
    ("apps/github/x.py", ()),  # cleared by the owner-less line
    ("apps/github", ()),
]


@pytest.mark.parametrize(("path", "owners"), LAST_MATCH)
def test_last_matching_line_wins(path, owners):
    codeowners = parse(GITHUB_EXAMPLE)
    assert codeowners.problems == ()
    assert codeowners.owners_for(path) == owners


def test_rule_for_names_the_winning_line():
    codeowners = parse(GITHUB_EXAMPLE)
    assert codeowners.rule_for("web/app.js").line == 3
    assert codeowners.rule_for("apps/github/x").line == 13
    assert parse("/docs/ @a\n").rule_for("src/x") is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("!docs @a", "negation"),
        ("docs/[ab].md @a", "character ranges"),
        ("docs @not-a-handle!", "invalid owner"),
        ("docs plainword", "invalid owner"),
        ("x" * 501 + " @a", "longer than"),
        ("*?" * 11 + " @a", "wildcards"),
    ],
)
def test_bad_lines_are_problems_and_skipped(line, reason):
    codeowners = parse(f"* @everyone\n{line}\n")
    assert len(codeowners.problems) == 1
    assert codeowners.problems[0].line == 2
    assert reason in codeowners.problems[0].reason
    assert [r.line for r in codeowners.rules] == [1]


@pytest.mark.parametrize(
    "owner", ["@user", "@u-s-er", "@org/team", "@org/team_name.x", "a.b@example.com"]
)
def test_valid_owner_handles(owner):
    assert parse(f"* {owner}").rules[0].owners == (owner,)


def test_comments_blank_lines_and_empty_file():
    assert parse("").rules == ()
    assert parse("# only\n\n   \n  # indented comment\n").rules == ()
    assert parse("").owners_for("a") == ()
    rules = parse("a.py @x # trailing comment @y\n").rules
    assert rules[0].owners == ("@x",)


def test_owners_lists_every_owner_once():
    assert parse("* @b @A\n*.js @a @c\n").owners == ["@A", "@b", "@c"]


@pytest.mark.parametrize(
    ("file", "classname", "path"),
    [
        ("tests/test_auth.py", "tests.test_auth.TestLogin", "tests/test_auth.py"),
        ("./src\\auth\\login.spec.ts", "", "src/auth/login.spec.ts"),
        ("/abs/x.py", "", "abs/x.py"),
        ("", "com.acme.auth.LoginTest", "com/acme/auth/LoginTest"),
        ("  ", "a.b.C", "a/b/C"),
        ("", "", ""),
    ],
)
def test_test_path_is_file_else_classname(file, classname, path):
    assert test_path(file=file, classname=classname) == path


def test_owners_map_and_owner_filter():
    codeowners = parse("* @all\n/com/acme/auth/ @org/auth\n*.py @py\n")
    found = owners_map(
        codeowners,
        {1: ("", "com.acme.auth.LoginTest"), 2: ("tests/a.py", "x.Y"), 3: ("", "other.T")},
    )
    assert found == {1: ("@org/auth",), 2: ("@py",), 3: ("@all",)}
    assert owner_matches(found[1], "@ORG/auth")
    assert not owner_matches(found[1], "@py")
    assert owner_matches((), "none") and not owner_matches(("@a",), "none")


def test_pathological_patterns_match_in_linear_time():
    codeowners = parse("*a*a*a*a*a*a*a*a*b @x\n**/x*y*z*w/ @y\n")
    path = "/".join(["xyzw" + "a" * 60] * 30) + "/" + "a" * 1900
    started = time.perf_counter()
    assert codeowners.owners_for(path) == ()
    # Not a timing assertion of the product: a guard against exponential backtracking
    # (the naive regex takes minutes here).
    assert time.perf_counter() - started < 1.0
