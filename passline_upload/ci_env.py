"""Read run, branch, commit, build URL and PR from a CI system's standard variables.

Each detector takes the environment mapping and returns a ``CiContext`` or ``None``.
Only the Python standard library is used: the uploader runs in bare CI images.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CiContext:
    """Run metadata found in the environment; empty strings mean unknown."""

    provider: str
    run: str = ""
    branch: str = ""
    commit: str = ""
    build_url: str = ""
    # The pull/merge request number (digits) and the commit it is based on, when known.
    pr: str = ""
    base_commit: str = ""


def pr_number(value: object) -> str:
    """Return ``value`` as a PR number ("7") when it is a positive integer, else ""."""
    text = str(value if value is not None else "").strip()
    if text.isascii() and text.isdigit() and int(text) > 0:
        return str(int(text))
    return ""


def _github_event(path: str) -> dict:
    """Return the pull request of GitHub's event file (GITHUB_EVENT_PATH), or {}."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError):
        return {}
    pull = event.get("pull_request") if isinstance(event, dict) else None
    return pull if isinstance(pull, dict) else {}


def _strip_ref(ref: str) -> str:
    """Return a branch name without ``refs/heads/`` or a remote prefix like ``origin/``."""
    for prefix in ("refs/heads/", "origin/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _github(env: Mapping[str, str]) -> CiContext | None:
    if not (env.get("GITHUB_ACTIONS") or env.get("GITHUB_RUN_ID")):
        return None
    run_id = env.get("GITHUB_RUN_ID", "")
    # A re-run of a workflow is a new attempt with the same run id: keep them apart.
    attempt = env.get("GITHUB_RUN_ATTEMPT", "1") or "1"
    server, repo = env.get("GITHUB_SERVER_URL", "https://github.com"), env.get("GITHUB_REPOSITORY")
    # pull_request workflows check out refs/pull/<n>/merge; the event file also has the
    # number (pull_request_target runs on the base branch's ref) and the base commit.
    ref = re.fullmatch(r"refs/pull/(\d+)/(?:merge|head)", env.get("GITHUB_REF", ""))
    pull = _github_event(env.get("GITHUB_EVENT_PATH", ""))
    base = pull.get("base") if isinstance(pull.get("base"), dict) else {}
    return CiContext(
        provider="github",
        run=f"{run_id}-{attempt}" if run_id else "",
        # GITHUB_REF_NAME is "<pr>/merge" for pull requests; the head ref is the branch.
        branch=env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME", ""),
        commit=env.get("GITHUB_SHA", ""),
        build_url=f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else "",
        pr=pr_number(ref.group(1)) if ref else pr_number(pull.get("number")),
        base_commit=str(base.get("sha") or ""),
    )


def _gitlab(env: Mapping[str, str]) -> CiContext | None:
    if not (env.get("GITLAB_CI") or env.get("CI_PIPELINE_ID")):
        return None
    return CiContext(
        provider="gitlab",
        run=env.get("CI_PIPELINE_ID", ""),
        branch=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_REF_NAME", ""),
        commit=env.get("CI_COMMIT_SHA", ""),
        build_url=env.get("CI_PIPELINE_URL", ""),
        pr=pr_number(env.get("CI_MERGE_REQUEST_IID")),
        base_commit=env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA", ""),
    )


def _circleci(env: Mapping[str, str]) -> CiContext | None:
    if not (env.get("CIRCLECI") or env.get("CIRCLE_WORKFLOW_ID")):
        return None
    return CiContext(
        provider="circleci",
        run=env.get("CIRCLE_WORKFLOW_ID", ""),
        branch=env.get("CIRCLE_BRANCH", ""),
        commit=env.get("CIRCLE_SHA1", ""),
        build_url=env.get("CIRCLE_BUILD_URL", ""),
        # A URL such as https://github.com/acme/shop/pull/7 (CIRCLE_PR_NUMBER on forks).
        pr=pr_number(env.get("CIRCLE_PULL_REQUEST", "").rstrip("/").rpartition("/")[2])
        or pr_number(env.get("CIRCLE_PR_NUMBER")),
    )


def _buildkite(env: Mapping[str, str]) -> CiContext | None:
    if not (env.get("BUILDKITE") or env.get("BUILDKITE_BUILD_ID")):
        return None
    return CiContext(
        provider="buildkite",
        run=env.get("BUILDKITE_BUILD_ID", ""),
        branch=env.get("BUILDKITE_BRANCH", ""),
        commit=env.get("BUILDKITE_COMMIT", ""),
        build_url=env.get("BUILDKITE_BUILD_URL", ""),
        # "false" when the build is not for a pull request.
        pr=pr_number(env.get("BUILDKITE_PULL_REQUEST")),
    )


def _azure(env: Mapping[str, str]) -> CiContext | None:
    if not (env.get("TF_BUILD") or env.get("BUILD_BUILDID")):
        return None
    build_id = env.get("BUILD_BUILDID", "")
    collection, project = env.get("SYSTEM_COLLECTIONURI", ""), env.get("SYSTEM_TEAMPROJECT", "")
    build_url = ""
    if collection and project and build_id:
        quoted = urllib.parse.quote(project)
        build_url = f"{collection.rstrip('/')}/{quoted}/_build/results?buildId={build_id}"
    branch = _strip_ref(env.get("SYSTEM_PULLREQUEST_SOURCEBRANCH", "")) or env.get(
        "BUILD_SOURCEBRANCHNAME", ""
    )
    return CiContext(
        provider="azure",
        run=build_id,
        branch=branch,
        commit=env.get("BUILD_SOURCEVERSION", ""),
        build_url=build_url,
        # GitHub/Bitbucket repos set the NUMBER; Azure Repos pull requests only the ID.
        pr=pr_number(env.get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER"))
        or pr_number(env.get("SYSTEM_PULLREQUEST_PULLREQUESTID")),
    )


def _jenkins(env: Mapping[str, str]) -> CiContext | None:
    if not (env.get("JENKINS_URL") or env.get("BUILD_TAG") or env.get("JENKINS_HOME")):
        return None
    run = env.get("BUILD_TAG", "")
    if not run and env.get("JOB_NAME") and env.get("BUILD_NUMBER"):
        run = f"{env['JOB_NAME']}-{env['BUILD_NUMBER']}"
    return CiContext(
        provider="jenkins",
        run=run,
        # Multibranch pipelines set BRANCH_NAME; the git plugin sets "origin/<branch>".
        branch=env.get("BRANCH_NAME") or _strip_ref(env.get("GIT_BRANCH", "")),
        commit=env.get("GIT_COMMIT", ""),
        build_url=env.get("BUILD_URL", ""),
        # Multibranch pipelines set CHANGE_ID for pull/merge requests.
        pr=pr_number(env.get("CHANGE_ID")),
    )


# Order matters: Jenkins' generic BUILD_* names are checked after the specific systems.
DETECTORS: tuple[Callable[[Mapping[str, str]], CiContext | None], ...] = (
    _github,
    _gitlab,
    _circleci,
    _buildkite,
    _azure,
    _jenkins,
)


def ci_context_detect(env: Mapping[str, str]) -> CiContext:
    """Return the first CI context found in ``env``, or an empty one outside CI."""
    for detector in DETECTORS:
        found = detector(env)
        if found is not None:
            return found
    return CiContext(provider="")
