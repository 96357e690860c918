"""ASGI middleware around every request: id, log line, metrics, size cap, 500s.

Written as plain ASGI rather than `BaseHTTPMiddleware` so streamed downloads
pass through untouched and the search hot path pays no extra task per request.
"""

from __future__ import annotations

import json
import re
import secrets
import time

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devflowfix.errors import AppError, InternalError, PayloadTooLarge, envelope
from devflowfix.logging import bind_request, clear_request

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "x-request-id"
# A client's own id is echoed only when it is a plain token: no spaces, no
# control characters, nothing that could forge a log line or a header.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")


def new_request_id() -> str:
    return f"req_{secrets.token_hex(8)}"


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the configured cap.

    An `HTTPException`, because FastAPI re-raises those from body parsing (any
    other exception there becomes a 400), so the error handlers render it.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class HTTPMetrics:
    """Request counts and latencies by route template, in the app's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "devflowfix_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )

        self.latency = Histogram(
            "devflowfix_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    # `path_format` drops convertors: /jobs/{job_id}, not /jobs/{job_id:job_id}.
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    # Unmatched paths are one label, so a scanner cannot blow up the series count.
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    """Give each request an id, cap its body, log and measure it, catch crashes."""

    def __init__(self, app: ASGIApp, *, metrics: HTTPMetrics, max_body_bytes: int):
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = self._request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        clear_request()
        bind_request(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        early = self._declared_too_large(scope)
        try:
            if early:
                await send_error(send_with_id, request_id, PayloadTooLarge(early))
            else:
                await self.app(scope, self._capped(receive), send_with_id)
        except Exception:
            log.exception("http.unhandled_error", path=scope.get("path"))
            if not response_started:
                await send_error(send_with_id, request_id, InternalError())
        finally:
            self._record(scope, status, time.perf_counter() - started)
            clear_request()

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        route = route_template(scope)
        self.metrics.observe(scope["method"], route, status, elapsed)
        log.info(
            "http.request",
            method=scope["method"],
            path=scope.get("path"),
            route=route,
            status=status,
            duration_ms=round(elapsed * 1000, 2),
        )

    @staticmethod
    def _request_id(scope: Scope) -> str:
        for name, value in scope.get("headers", ()):
            if name == REQUEST_ID_HEADER.encode():
                candidate: str = value.decode("latin-1")
                if SANE_REQUEST_ID.match(candidate):
                    return candidate
                break
        return new_request_id()

    def _too_large_message(self) -> str:
        return f"The request body is larger than {self.max_body_bytes} bytes."

    def _declared_too_large(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return None
                if declared > self.max_body_bytes:
                    return self._too_large_message()
        return None

    def _capped(self, receive: Receive) -> Receive:
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        return capped_receive


async def send_error(
    send: Send,
    request_id: str | None,
    error: AppError,
    headers: dict[str, str] | None = None,
) -> None:
    """Send `error` as the envelope straight from ASGI middleware."""
    body = json.dumps(
        envelope(request_id, error.code, error.message, error.errors),
        separators=(",", ":"),
    ).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    for name, value in {**error.headers, **(headers or {})}.items():
        raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))

    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": body})
