"""Serve the dashboard's page and files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The page loads nothing but its own files and talks only to this API, so a
# strict policy costs nothing and stops injected markup from running.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)

router = APIRouter(include_in_schema=False)


@router.get("/")
def open_dashboard() -> RedirectResponse:
    """The root address opens the dashboard."""
    return RedirectResponse("/app/", status_code=307)


@router.get("/app/")
def read_dashboard() -> FileResponse:
    """The dashboard's single page."""
    return FileResponse(
        STATIC_DIR / "index.html",
        media_type="text/html",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


def static_files() -> StaticFiles:
    """The dashboard's scripts and styles, mounted under /app/static."""
    return StaticFiles(directory=STATIC_DIR)
