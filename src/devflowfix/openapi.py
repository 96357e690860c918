"""The OpenAPI document, with the error envelope as every operation's error answer."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="Where: body, query or path, then the field."
    )
    msg: str
    type: str


class ErrorEnvelope(BaseModel):
    """The body of every error answer."""

    error: str = Field(
        description="A stable machine-readable code.", examples=["not_found"]
    )
    message: str = Field(description="What went wrong, for a person.")
    errors: list[FieldError] = Field(description="Field errors of a 422; else empty.")
    request_id: str | None = Field(description="Also in the X-Request-ID header.")
    timestamp: str = Field(description="When the error happened, ISO 8601 in UTC.")


def _envelope_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorEnvelope"}
            }
        },
    }


def _document_errors(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    envelope = ErrorEnvelope.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components.update(envelope.pop("$defs", {}))
    components["ErrorEnvelope"] = envelope

    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)

    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _envelope_response(
                    "Invalid parameters; the field errors are in `errors`."
                )
            responses.setdefault(
                "default",
                _envelope_response("An error (4xx or 5xx), as the error envelope."),
            )


def install_openapi(app: FastAPI) -> None:
    """Make `/openapi.json` describe error answers as they really are."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _document_errors(schema)
            app.openapi_schema = schema

        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]
