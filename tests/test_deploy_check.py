"""`manage.py check --deploy` is clean with the production environment in docs/deploy.md."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"


def documented_env() -> dict[str, str]:
    """Return the KEY=VALUE lines of the ```env block in docs/deploy.md."""
    block = re.search(r"```env\n(.*?)```", DEPLOY_DOC.read_text(), re.S)
    assert block, "docs/deploy.md lost its ```env block"
    pairs = (line.split("=", 1) for line in block.group(1).splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_documented_production_env_passes_check_deploy_without_warnings(tmp_path):
    env = documented_env()
    assert env["DEBUG"] == "0"
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["MEDIA_ROOT"] = str(tmp_path / "uploads")
    result = check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def test_check_deploy_flags_the_builtin_key_and_debug():
    env = documented_env()
    del env["SECRET_KEY"]
    env["DEBUG"] = "1"
    result = check_deploy(env)
    assert result.returncode != 0
    assert "security.W009" in result.stderr
    assert "security.W018" in result.stderr


def test_refuses_to_start_with_debug_off_and_no_secret_key():
    env = documented_env()
    del env["SECRET_KEY"]
    result = check_deploy(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set and DEBUG is off" in result.stderr
    env["SECRET_KEY"] = ""  # empty counts as unset
    assert "SECRET_KEY is not set" in check_deploy(env).stderr
