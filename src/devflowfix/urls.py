"""Absolute URLs for responses, from `DEVFLOWFIX_PUBLIC_URL` or the request."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request

from devflowfix.config import Settings


def base_url(request: Request, settings: Settings) -> str:
    """The scheme, host and root path clients reach this service at."""
    if settings.public_base_url:
        return settings.public_base_url
    return str(request.base_url).rstrip("/")


def absolute_url(
    request: Request,
    settings: Settings,
    path: str,
    query: list[tuple[str, str]] | None = None,
) -> str:
    url = base_url(request, settings) + path
    if query:
        url += "?" + urlencode(query)
    return url
