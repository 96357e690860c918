"""A real HTTP server on a free loopback port that plays a provider's API.

Tests queue replies per path (the last one repeats); the server records every
request it got. Replies can be slow, redirect, trickle their body or set any
header, which is what rate limits and outages look like from the client; a
reply with a `gate` waits until the test opens it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A gate that nobody opens lets the request through after this long.
GATE_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    chunk_delay_seconds: float = 0.0
    chunks: int = 1
    gate: threading.Event | None = None


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ProviderServer:
    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, path: str, *replies: Reply) -> None:
        """Answer `path` (with its query string) with these replies in turn."""
        self.replies[path] = list(replies)

    def paths(self) -> list[str]:
        return [request.path for request in self.received]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            queue = self.replies.get(path)
            if not queue:
                return Reply(404, b'{"message": "Not Found"}')
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def log_message(self, message_format: str, *args: object) -> None:
                return

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.received.append(
                        Received(self.command, self.path, dict(self.headers), body)
                    )
                reply = server._next_reply(self.path)
                if reply.gate is not None:
                    reply.gate.wait(GATE_TIMEOUT_SECONDS)
                time.sleep(reply.delay_seconds)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self._write(reply)

            def _write(self, reply: Reply) -> None:
                size = max(1, len(reply.body) // reply.chunks)
                try:
                    for start in range(0, len(reply.body), size):
                        self.wfile.write(reply.body[start : start + size])
                        self.wfile.flush()
                        time.sleep(reply.chunk_delay_seconds)
                except (BrokenPipeError, ConnectionResetError):
                    return

        return Handler


@contextmanager
def running_server() -> Iterator[ProviderServer]:
    server = ProviderServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
