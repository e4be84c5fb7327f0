"""Local HTTP servers that speak the receivers' documented wire formats and record requests.

- ``FakeGitHub``: REST API version 2022-11-28: issue comments list (paginated with a
  ``Link`` header), create, update; commit statuses. Refuses a request without
  ``Authorization: Bearer <token>``, ``Accept: application/vnd.github+json`` or
  ``X-GitHub-Api-Version: 2022-11-28`` as GitHub does (401 / 400).
- ``FakeGitLab``: API v4: merge-request notes list (paginated with ``X-Next-Page``),
  create, update; commit statuses with GitLab's states. Needs ``PRIVATE-TOKEN``.
- ``FakeSlack``: an incoming webhook: 200 ``ok``, or 400 ``invalid_payload`` /
  ``no_text`` like Slack.
- ``FakeTeams``: a Workflows "When a Teams webhook request is received" trigger: 202 for a
  message with Adaptive Card attachments, 400 otherwise.
- ``Receiver``: any URL, answers 200 (the generic webhook's receiver).

Each binds 127.0.0.1 on a free port, serves from a thread, records every request
(``requests``: method, path, headers, body, time) and can be told to answer the next
requests with given statuses (``fail_next``) before behaving normally.
"""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Recorded:
    def __init__(self, method: str, path: str, headers: dict, body: bytes):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.at = time.time()

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.method} {self.path}>"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server = self.server.owner
        request = Recorded(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        with server.lock:
            server.requests.append(request)
            forced = server.forced.pop(0) if server.forced else None
        if forced is not None:
            status, headers = forced
            self._reply(status, {"message": "forced"}, headers)
            return
        status, payload, headers = server.route(request)
        self._reply(status, payload, headers)

    def _reply(self, status: int, payload, headers: dict | None = None):
        if isinstance(payload, bytes | str):
            data = payload.encode() if isinstance(payload, str) else payload
            ctype = "text/plain"
        else:
            data = json.dumps(payload).encode()
            ctype = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


class FakeServer:
    """Base: start on a free port of 127.0.0.1, record, route."""

    def __init__(self):
        self.requests: list[Recorded] = []
        self.forced: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(self, *statuses: int, headers: dict | None = None) -> None:
        with self.lock:
            self.forced.extend((s, headers or {}) for s in statuses)

    def route(self, request: Recorded):
        return 200, {"ok": True}, {}


class Receiver(FakeServer):
    """Generic webhook receiver: 200 for any POST."""

    def route(self, request):
        return 200, "ok", {}


class FakeSlack(FakeServer):
    """A Slack incoming webhook (https://api.slack.com/messaging/webhooks)."""

    def route(self, request):
        if request.method != "POST":
            return 405, "invalid_method", {}
        try:
            payload = request.json()
        except ValueError:
            return 400, "invalid_payload", {}
        if not isinstance(payload, dict):
            return 400, "invalid_payload", {}
        if not payload.get("text") and not payload.get("blocks"):
            return 400, "no_text", {}
        return 200, "ok", {}


class FakeTeams(FakeServer):
    """A Teams Workflows webhook trigger: message with Adaptive Card attachments."""

    def route(self, request):
        try:
            payload = request.json()
        except ValueError:
            return 400, {"error": "body is not JSON"}, {}
        attachments = payload.get("attachments") if isinstance(payload, dict) else None
        if payload.get("type") != "message" or not attachments:
            return 400, {"error": "expected a message with attachments"}, {}
        for item in attachments:
            content = item.get("content") or {}
            if (
                item.get("contentType") != "application/vnd.microsoft.card.adaptive"
                or content.get("type") != "AdaptiveCard"
                or not content.get("body")
            ):
                return 400, {"error": "attachment is not an Adaptive Card"}, {}
        return 202, b"", {}


class FakeGitHub(FakeServer):
    """GitHub REST API (2022-11-28): issue comments and commit statuses."""

    VERSION = "2022-11-28"
    STATES = {"error", "failure", "pending", "success"}

    def __init__(self, token: str = "ghp_test", per_page_cap: int = 100):
        super().__init__()
        self.token = token
        self.per_page_cap = per_page_cap
        self.comments: dict[int, dict] = {}  # id -> {"id", "issue", "body", "repo"}
        self.statuses: list[dict] = []
        self.next_id = 1000

    def add_comment(self, repo: str, issue: int, body: str) -> int:
        self.next_id += 1
        self.comments[self.next_id] = {
            "id": self.next_id,
            "repo": repo,
            "issue": issue,
            "body": body,
        }
        return self.next_id

    def comments_on(self, repo: str, issue: int) -> list[dict]:
        return [c for c in self.comments.values() if c["repo"] == repo and c["issue"] == issue]

    def route(self, request):
        h = request.headers
        if h.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}, {}
        if h.get("accept") != "application/vnd.github+json":
            return 415, {"message": "Unsupported media type"}, {}
        if h.get("x-github-api-version") != self.VERSION:
            return 400, {"message": "Unsupported API version"}, {}
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments", parts.path)
        if m and request.method == "GET":
            repo, issue = f"{m[1]}/{m[2]}", int(m[3])
            per_page = min(int(query.get("per_page", ["30"])[0]), self.per_page_cap)
            page = int(query.get("page", ["1"])[0])
            items = sorted(self.comments_on(repo, issue), key=lambda c: c["id"])
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(items):
                nxt = f"{self.url}{parts.path}?per_page={per_page}&page={page + 1}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            body = [
                {"id": c["id"], "body": c["body"], "user": {"login": "passline"}} for c in chunk
            ]
            return 200, body, headers
        if m and request.method == "POST":
            body = request.json().get("body")
            if not body:
                return 422, {"message": "Validation Failed"}, {}
            if len(body) > 65536:
                return 422, {"message": "body is too long (maximum is 65536 characters)"}, {}
            new_id = self.add_comment(f"{m[1]}/{m[2]}", int(m[3]), body)
            return 201, {"id": new_id, "body": body}, {}
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/comments/(\d+)", parts.path)
        if m and request.method == "PATCH":
            comment = self.comments.get(int(m[3]))
            if comment is None:
                return 404, {"message": "Not Found"}, {}
            comment["body"] = request.json()["body"]
            return 200, {"id": comment["id"], "body": comment["body"]}, {}
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/statuses/([0-9a-fA-F]{4,40})", parts.path)
        if m and request.method == "POST":
            payload = request.json()
            if payload.get("state") not in self.STATES:
                return 422, {"message": "Validation Failed"}, {}
            status = {**payload, "repo": f"{m[1]}/{m[2]}", "sha": m[3]}
            self.statuses.append(status)
            return 201, status, {}
        return 404, {"message": "Not Found"}, {}


class FakeGitLab(FakeServer):
    """GitLab REST API v4: merge-request notes and commit statuses."""

    STATES = {"pending", "running", "success", "failed", "canceled"}

    def __init__(self, token: str = "glpat-test"):
        super().__init__()
        self.token = token
        self.notes: dict[int, dict] = {}
        self.statuses: list[dict] = []
        self.next_id = 500

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v4"

    def add_note(self, project: str, iid: int, body: str, system: bool = False) -> int:
        self.next_id += 1
        self.notes[self.next_id] = {
            "id": self.next_id,
            "project": project,
            "iid": iid,
            "body": body,
            "system": system,
        }
        return self.next_id

    def notes_on(self, project: str, iid: int) -> list[dict]:
        return [n for n in self.notes.values() if n["project"] == project and n["iid"] == iid]

    def route(self, request):
        if request.headers.get("private-token") != self.token:
            return 401, {"message": "401 Unauthorized"}, {}
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes", parts.path)
        if m and request.method == "GET":
            per_page = min(int(query.get("per_page", ["20"])[0]), 100)
            page = int(query.get("page", ["1"])[0])
            items = sorted(self.notes_on(m[1], int(m[2])), key=lambda n: n["id"])
            chunk = items[(page - 1) * per_page : page * per_page]
            more = page * per_page < len(items)
            headers = {"X-Page": str(page), "X-Next-Page": str(page + 1) if more else ""}
            return 200, [{k: n[k] for k in ("id", "body", "system")} for n in chunk], headers
        if m and request.method == "POST":
            body = request.json().get("body")
            if not body:
                return 400, {"message": "body is missing"}, {}
            new_id = self.add_note(m[1], int(m[2]), body)
            return 201, {"id": new_id, "body": body, "system": False}, {}
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)", parts.path)
        if m and request.method == "PUT":
            note = self.notes.get(int(m[3]))
            if note is None:
                return 404, {"message": "404 Not found"}, {}
            note["body"] = request.json()["body"]
            return 200, {"id": note["id"], "body": note["body"]}, {}
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/statuses/([0-9a-fA-F]{4,40})", parts.path)
        if m and request.method == "POST":
            payload = request.json()
            if payload.get("state") not in self.STATES:
                return 400, {"message": "state does not have a valid value"}, {}
            status = {**payload, "project": m[1], "sha": m[2]}
            self.statuses.append(status)
            return 201, status, {}
        return 404, {"message": "404 Not found"}, {}
