"""A local stand-in for GitHub and GitLab: their pull-request APIs and git over HTTP.

One threaded HTTP server on a free loopback port serves

- `/api/v3/repos/{owner}/{name}/pulls` (GitHub's REST API, `Authorization: Bearer`),
- `/api/v4/projects/{id}/merge_requests` (GitLab's, `PRIVATE-TOKEN`),
- `/{project}.git/...` (git's smart HTTP protocol through the real
  `git http-backend`, from bare repositories under `root`, with HTTP Basic auth
  carrying the token as password).

It records every request, answers like the real services do (401 for a wrong
token, 422/409 for a second pull request of a branch, 422 for a head branch that
was never pushed) and plays queued answers first, for error and rate-limit tests.
A hold stops the first git request of a service (a fetch, a push) until the test
releases it, so a test can act while a job waits on the remote.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

FORGE_TOKEN = "ghp_forgeToken0123456789abcdefABCDEF"
# What every test repository holds in its first commit.
SEED_FILES = {
    "app.py": "def total(values):\n    return sum(values)\n",
    "README.md": "# Web app\n",
}
GITHUB_API = "/api/v3"
GITLAB_API = "/api/v4"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


HOLD_SECONDS = 30.0


@dataclass
class Hold:
    """Holds the first git request of `service` until `release`."""

    service: str
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def matches(self, path: str, query: str) -> bool:
        return path.endswith("/" + self.service) or f"service={self.service}" in query

    def wait_for_arrival(self) -> None:
        if not self.arrived.wait(HOLD_SECONDS):
            raise AssertionError(f"no {self.service} request reached the forge")

    def release(self) -> None:
        self.released.set()


@dataclass
class PullRecord:
    number: int
    project: str
    head: str
    base: str
    title: str
    body: str
    state: str = "open"


class FakeForge:
    """The server, its recorded requests and its pull requests."""

    def __init__(self, root: Path, token: str) -> None:
        self.root = root
        self.token = token
        self.requests: list[Recorded] = []
        self.pulls: list[PullRecord] = []
        self.queued: deque[Answer] = deque()
        self.holds: list[Hold] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeForge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release_holds()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def queue(self, *answers: Answer) -> None:
        """Answer the next API requests with these, in order."""
        self.queued.extend(answers)

    def hold_git(self, service: str) -> Hold:
        """Hold the next request of a git service: `git-upload-pack` (ls-remote
        and fetch) or `git-receive-pack` (push)."""
        hold = Hold(service)
        self.holds.append(hold)
        return hold

    def release_holds(self) -> None:
        for hold in self.holds:
            hold.release()

    def wait_if_held(self, path: str, query: str) -> None:
        with self._lock:
            hold = next(
                (
                    hold
                    for hold in self.holds
                    if not hold.arrived.is_set() and hold.matches(path, query)
                ),
                None,
            )
            if hold is not None:
                hold.arrived.set()
        if hold is not None:
            hold.released.wait(HOLD_SECONDS)

    def api_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(("/api/v3", "/api/v4"))]

    def git_requests(self) -> list[Recorded]:
        return [r for r in self.requests if ".git/" in r.path]

    def basic_password(self, headers: dict[str, str]) -> str | None:
        value = headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return None
        decoded = base64.b64decode(value.removeprefix("Basic ")).decode()
        return decoded.partition(":")[2]

    def has_branch(self, project: str, branch: str) -> bool:
        completed = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=self.root / f"{project}.git",
            capture_output=True,
            check=False,
        )
        return completed.returncode == 0

    def handle_github(self, request: Recorded) -> Answer:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return Answer(401, {"message": "Bad credentials"})
        parts = request.path.removeprefix(GITHUB_API + "/repos/").split("/")
        if len(parts) != 3 or parts[2] != "pulls":
            return Answer(404, {"message": "Not Found"})
        project = "/".join(parts[:2])
        if request.method == "GET":
            head = request.query.get("head", [""])[0].partition(":")[2]
            return Answer(
                200, [self._github_pull(p) for p in self._open(project, head)]
            )
        return self._open_github_pull(project, request.body)

    def _open_github_pull(self, project: str, body: dict[str, Any]) -> Answer:
        head, base = body["head"], body["base"]
        if self._open(project, head):
            message = (
                f"A pull request already exists for {project.split('/')[0]}:{head}."
            )
            return Answer(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": message,
                        }
                    ],
                },
            )
        if not self.has_branch(project, head):
            return Answer(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {"resource": "PullRequest", "field": "head", "code": "invalid"}
                    ],
                },
            )
        pull = self._add_pull(project, head, base, body["title"], body["body"])
        return Answer(201, self._github_pull(pull))

    def _github_pull(self, pull: PullRecord) -> dict[str, Any]:
        return {
            "number": pull.number,
            "html_url": f"{self.url}/{pull.project}/pull/{pull.number}",
            "state": pull.state,
            "title": pull.title,
            "head": {"ref": pull.head},
            "base": {"ref": pull.base},
        }

    def handle_gitlab(self, request: Recorded) -> Answer:
        if request.headers.get("PRIVATE-TOKEN") != self.token:
            return Answer(401, {"message": "401 Unauthorized"})
        rest = request.path.removeprefix(GITLAB_API + "/projects/")
        encoded, _, tail = rest.partition("/")
        if tail != "merge_requests":
            return Answer(404, {"message": "404 Not found"})
        project = unquote(encoded)
        if request.method == "GET":
            head = request.query.get("source_branch", [""])[0]
            return Answer(
                200, [self._gitlab_request(p) for p in self._open(project, head)]
            )
        body = request.body
        head = body["source_branch"]
        if self._open(project, head):
            number = self._open(project, head)[0].number
            return Answer(
                409,
                {
                    "message": [
                        "Another open merge request already exists for this "
                        f"source branch: !{number}"
                    ]
                },
            )
        if not self.has_branch(project, head):
            return Answer(400, {"message": ["Source branch does not exist"]})
        pull = self._add_pull(
            project, head, body["target_branch"], body["title"], body["description"]
        )
        return Answer(201, self._gitlab_request(pull))

    def _gitlab_request(self, pull: PullRecord) -> dict[str, Any]:
        return {
            "iid": pull.number,
            "web_url": f"{self.url}/{pull.project}/-/merge_requests/{pull.number}",
            "state": "opened",
            "source_branch": pull.head,
            "target_branch": pull.base,
            "title": pull.title,
        }

    def _open(self, project: str, head: str) -> list[PullRecord]:
        return [
            p
            for p in self.pulls
            if p.project == project and p.head == head and p.state == "open"
        ]

    def _add_pull(
        self, project: str, head: str, base: str, title: str, body: str
    ) -> PullRecord:
        with self._lock:
            pull = PullRecord(len(self.pulls) + 1, project, head, base, title, body)
            self.pulls.append(pull)
        return pull


def _handler_for(forge: FakeForge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            """Quiet: the test reads `forge.requests` instead."""

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            raw = self._read_body()
            headers = dict(self.headers.items())
            if ".git/" in parts.path:
                forge.requests.append(
                    Recorded(
                        self.command, parts.path, parse_qs(parts.query), headers, None
                    )
                )
                forge.wait_if_held(parts.path, parts.query)
                self._serve_git(parts.path, parts.query, raw)
                return
            body = json.loads(raw) if raw else None
            request = Recorded(
                self.command, parts.path, parse_qs(parts.query), headers, body
            )
            forge.requests.append(request)
            self._answer(self._api_answer(request))

        def _api_answer(self, request: Recorded) -> Answer:
            if forge.queued:
                return forge.queued.popleft()
            if request.path.startswith(GITHUB_API + "/"):
                return forge.handle_github(request)
            if request.path.startswith(GITLAB_API + "/"):
                return forge.handle_gitlab(request)
            return Answer(404, {"message": "Not Found"})

        def _answer(self, answer: Answer) -> None:
            data = json.dumps(answer.body).encode() if answer.body is not None else b""
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve_git(self, path: str, query: str, body: bytes) -> None:
            if forge.basic_password(dict(self.headers.items())) != forge.token:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="forge"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            output = subprocess.run(
                ["git", "http-backend"],
                input=body,
                env=self._cgi_environment(path, query, len(body)),
                capture_output=True,
                check=True,
            ).stdout
            head, _, payload = output.partition(b"\r\n\r\n")
            status = 200
            cgi_headers = []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(": ")
                if name.lower() == "status":
                    status = int(value.split()[0])
                else:
                    cgi_headers.append((name, value))
            self.send_response(status)
            for name, value in cgi_headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _cgi_environment(
            self, path: str, query: str, length: int
        ) -> dict[str, str]:
            return {
                "PATH": os.environ.get("PATH", os.defpath),
                "HOME": str(forge.root),
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_PROJECT_ROOT": str(forge.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(length),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                # A signed-in user may push (git http-backend's receive-pack rule).
                "REMOTE_USER": "forge-user",
                "REMOTE_ADDR": "127.0.0.1",
            }

    return Handler
