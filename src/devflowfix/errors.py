"""The error hierarchy and the one envelope every error response uses.

Every error answer has the body

    {"error": code, "message": text, "errors": [...], "request_id": id,
     "timestamp": iso-8601}

and the `X-Request-ID` header. Services raise `AppError` subclasses; the handlers
here render them, and also FastAPI's validation errors, Starlette's HTTP errors
(unknown routes, wrong methods) and anything unexpected (a generic 500).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class AppError(Exception):
    """An expected failure with its HTTP status and machine-readable code."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "The request cannot be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Sequence[dict[str, Any]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.errors = list(errors)
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    default_message = "Authentication is required."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class PermissionDenied(AppError):
    status_code = 403
    code = "forbidden"
    default_message = "Your role does not allow this."


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class Gone(AppError):
    status_code = 410
    code = "gone"
    default_message = "This resource is no longer available."


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"
    default_message = "Send the request body as application/json."


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"
    default_message = "Invalid request parameters"

    @classmethod
    def for_field(cls, field: str, message: str, kind: str = "value_error") -> Self:
        """A validation error about one field of the request."""
        return cls(message, errors=[{"loc": [field], "msg": message, "type": kind}])


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many requests; retry after the time in Retry-After."


class UpstreamFailed(AppError):
    """A service DevFlowFix depends on (a git remote, GitHub, GitLab) failed."""

    status_code = 502
    code = "upstream_error"
    default_message = "A service DevFlowFix depends on failed."


class InternalError(AppError):
    status_code = 500
    code = "internal_error"
    default_message = (
        "An unexpected error occurred; quote the request id if you report it."
    )


HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "upstream_error",
    503: "service_unavailable",
}


def envelope(
    request_id: str | None,
    code: str,
    message: str,
    errors: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The body of every error response."""
    return {
        "error": code,
        "message": message,
        "errors": list(errors),
        "request_id": request_id,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def error_response(
    request_id: str | None,
    status_code: int,
    code: str,
    message: str,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        envelope(request_id, code, message, errors),
        status_code=status_code,
        headers=headers,
    )


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def _field_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    # Only where, what and why: the rejected input may be huge or a password.
    return [
        {
            "loc": list(item.get("loc", ())),
            "msg": str(item.get("msg", "")),
            "type": str(item.get("type", "value_error")),
        }
        for item in raw
    ]


async def _handle_app_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, AppError):
        raise exc

    log.info("http.error", status=exc.status_code, error=exc.code)

    return error_response(
        request_id_of(request),
        exc.status_code,
        exc.code,
        exc.message,
        exc.errors,
        exc.headers,
    )


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc

    errors = _field_errors(exc.errors())
    if any(error["type"] == "json_invalid" for error in errors):
        return error_response(
            request_id_of(request),
            400,
            "invalid_json",
            "The request body is not valid JSON.",
            errors,
        )

    return error_response(
        request_id_of(request),
        422,
        "validation_error",
        "Invalid request parameters",
        errors,
    )


async def _handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        raise exc

    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "No such resource."
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))

    return error_response(
        request_id_of(request), exc.status_code, code, message, headers=headers
    )


def _allowed_methods(request: Request) -> list[str]:
    # Starlette's own Allow names only the methods of the first route on the
    # path, while /api/v1/incidents/{incident_id} has GET, PATCH and DELETE on
    # three routes; the OpenAPI document knows them all.
    # A fixed path such as /api/v1/incidents/search answers for itself: no
    # incident id is called "search", so the {incident_id} routes do not count.
    paths: dict[str, Any] = request.app.openapi().get("paths", {})
    if request.url.path in paths:
        return sorted(method.upper() for method in paths[request.url.path])
    methods: set[str] = set()
    for template, operations in paths.items():
        if re.fullmatch(_template_pattern(template, operations), request.url.path):
            methods.update(method.upper() for method in operations)
    return sorted(methods)


def _template_pattern(template: str, operations: dict[str, Any]) -> str:
    # A path parameter with a documented pattern matches only that, as its
    # route does: /api/v1/jobs/active is no /api/v1/jobs/{job_id}.
    patterns = {
        parameter["name"]: parameter.get("schema", {}).get("pattern", "")
        for operation in operations.values()
        for parameter in operation.get("parameters", ())
        if parameter.get("in") == "path"
    }

    def parameter(match: re.Match[str]) -> str:
        pattern = patterns.get(match.group(1), "").removeprefix("^").removesuffix("$")
        return f"(?:{pattern or '[^/]+'})"

    return re.sub(r"\\\{([^/]+?)\\\}", parameter, re.escape(template))


def install_error_handlers(app: FastAPI) -> None:
    """Render every error raised inside the app as the envelope."""
    app.add_exception_handler(AppError, _handle_app_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_error)
