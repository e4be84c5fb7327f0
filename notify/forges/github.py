"""GitHub (github.com or Enterprise Server), REST API version 2022-11-28.

One sticky comment per pull request and project, found by its hidden marker among the
PR's issue comments and updated in place; a commit status with context
``passline/<slug>`` on the run's commit.
"""

import json
from urllib.parse import quote

from notify import transport

API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 30


def _headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "Content-Type": "application/json",
    }


def _repo_path(api_url: str, repo: str) -> str:
    owner, _, name = repo.partition("/")
    return f"{api_url.rstrip('/')}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def comment_find(*, api_url: str, repo: str, token: str, pr: int, marker: str) -> int | None:
    """Return the id of the PR's comment carrying ``marker``, following pagination."""
    url = f"{_repo_path(api_url, repo)}/issues/{pr}/comments?per_page={PER_PAGE}"
    for _ in range(MAX_PAGES):
        response = transport.checked(
            transport.request("GET", url, headers=_headers(token)), "list comments"
        )
        for comment in response.json() or []:
            if marker in (comment.get("body") or ""):
                return int(comment["id"])
        url = response.links.get("next")
        if not url:
            return None
    return None


def comment_upsert(*, api_url: str, repo: str, token: str, pr: int, marker: str, body: str) -> int:
    """Update the marked comment in place, or create it; return its id."""
    data = json.dumps({"body": body}).encode()
    found = comment_find(api_url=api_url, repo=repo, token=token, pr=pr, marker=marker)
    if found is not None:
        url = f"{_repo_path(api_url, repo)}/issues/comments/{found}"
        transport.checked(
            transport.request("PATCH", url, body=data, headers=_headers(token)), "update comment"
        )
        return found
    url = f"{_repo_path(api_url, repo)}/issues/{pr}/comments"
    response = transport.checked(
        transport.request("POST", url, body=data, headers=_headers(token)), "create comment"
    )
    return int(response.json()["id"])


def status_set(
    *,
    api_url: str,
    repo: str,
    token: str,
    sha: str,
    state: str,
    context: str,
    description: str,
    target_url: str,
) -> None:
    """Set a commit status; ``state`` is success or failure (GitHub's own words)."""
    payload = {"state": state, "context": context, "description": description[:140]}
    if target_url:
        payload["target_url"] = target_url
    url = f"{_repo_path(api_url, repo)}/statuses/{quote(sha, safe='')}"
    transport.checked(
        transport.request("POST", url, body=json.dumps(payload).encode(), headers=_headers(token)),
        "set status",
    )
