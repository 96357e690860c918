"""Search endpoints: the same search as a JSON body (POST) or query string (GET)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from devflowfix.config import Settings
from devflowfix.dependencies import CurrentUser, SessionDep, SettingsDep, require_json
from devflowfix.models import User
from devflowfix.search import service
from devflowfix.search.schemas import (
    SearchParameters,
    SearchRequest,
    SearchResponse,
)
from devflowfix.urls import absolute_url

router = APIRouter(
    prefix="/api/v1/incidents", tags=["search"], dependencies=[Depends(require_json)]
)

SEARCH_PATH = "/api/v1/incidents/search"
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid bearer token."},
    422: {
        "description": "A filter, the query, the page or the cursor is invalid; "
        "`errors` names the field."
    },
}


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
def search_incidents(
    data: SearchRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> JSONResponse:
    """Search your team's incidents: full text, filters, sorting, pages, cursors."""
    return _search(data, request, session, settings, user)


@router.get("/search", response_model=SearchResponse, responses=ERRORS)
def search_incidents_by_query(
    data: Annotated[SearchParameters, Query()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> JSONResponse:
    """The same search with its fields as query parameters; lists repeat."""
    return _search(data, request, session, settings, user)


def _search(
    data: SearchRequest,
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
) -> JSONResponse:
    def page_url(query: list[tuple[str, str]]) -> str:
        return absolute_url(request, settings, SEARCH_PATH, query)

    result = service.search_incidents(
        session,
        user,
        data,
        secret_key=settings.secret_key,
        limits=service.SearchLimits.from_settings(settings),
        page_url=page_url,
    )
    return JSONResponse(result.render())
