"""GitLab (gitlab.com or self-managed), REST API v4.

One sticky merge-request note per MR and project, found by its hidden marker and
updated in place; a commit status named ``passline/<slug>`` on the run's commit.
"""

import json
from urllib.parse import quote, urlencode

from notify import transport

PER_PAGE = 100
MAX_PAGES = 30
# GitLab's words for a commit status; passline's verdict says success or failure.
STATES = {"success": "success", "failure": "failed"}


def _headers(token: str) -> dict[str, str]:
    return {"PRIVATE-TOKEN": token, "Content-Type": "application/json"}


def _project_path(api_url: str, project: str) -> str:
    return f"{api_url.rstrip('/')}/projects/{quote(project, safe='')}"


def note_find(*, api_url: str, project: str, token: str, iid: int, marker: str) -> int | None:
    """Return the id of the MR's note carrying ``marker`` (system notes ignored)."""
    base = f"{_project_path(api_url, project)}/merge_requests/{iid}/notes"
    for page in range(1, MAX_PAGES + 1):
        query = urlencode(
            {"per_page": PER_PAGE, "page": page, "sort": "asc", "order_by": "created_at"}
        )
        response = transport.checked(
            transport.request("GET", f"{base}?{query}", headers=_headers(token)), "list notes"
        )
        notes = response.json() or []
        for note in notes:
            if not note.get("system") and marker in (note.get("body") or ""):
                return int(note["id"])
        next_page = response.headers.get("x-next-page", "")
        if not notes or (not next_page and len(notes) < PER_PAGE):
            return None
    return None


def note_upsert(*, api_url: str, project: str, token: str, iid: int, marker: str, body: str) -> int:
    """Update the marked note in place, or create it; return its id."""
    data = json.dumps({"body": body}).encode()
    found = note_find(api_url=api_url, project=project, token=token, iid=iid, marker=marker)
    base = f"{_project_path(api_url, project)}/merge_requests/{iid}/notes"
    if found is not None:
        transport.checked(
            transport.request("PUT", f"{base}/{found}", body=data, headers=_headers(token)),
            "update note",
        )
        return found
    response = transport.checked(
        transport.request("POST", base, body=data, headers=_headers(token)), "create note"
    )
    return int(response.json()["id"])


def status_set(
    *,
    api_url: str,
    project: str,
    token: str,
    sha: str,
    state: str,
    context: str,
    description: str,
    target_url: str,
) -> None:
    """Set a commit status (``state`` success or failure, sent as GitLab's success/failed)."""
    payload = {"state": STATES[state], "name": context, "description": description[:255]}
    if target_url:
        payload["target_url"] = target_url
    url = f"{_project_path(api_url, project)}/statuses/{quote(sha, safe='')}"
    transport.checked(
        transport.request("POST", url, body=json.dumps(payload).encode(), headers=_headers(token)),
        "set status",
    )
