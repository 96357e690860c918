"""Search endpoints: the same search as a JSON body (POST) or query string (GET)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from devflowfix.auth.service import find_active_user
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.dependencies import (
    DatabaseDep,
    SettingsDep,
    TokenSubject,
    require_json,
)
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


# Search is the hottest endpoint, so it authenticates and searches in one
# worker-thread call and one read transaction. A hop to a worker thread costs
# about 120 us, and the usual dependencies (the user, the session's start and
# end, the endpoint) take four.


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
async def search_incidents(
    data: SearchRequest,
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    subject: TokenSubject,
) -> JSONResponse:
    """Search your team's incidents: full text, filters, sorting, pages, cursors."""
    return await run_in_threadpool(_search, data, request, settings, database, subject)


@router.get("/search", response_model=SearchResponse, responses=ERRORS)
async def search_incidents_by_query(
    data: Annotated[SearchParameters, Query()],
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    subject: TokenSubject,
) -> JSONResponse:
    """The same search with its fields as query parameters; lists repeat."""
    return await run_in_threadpool(_search, data, request, settings, database, subject)


def _search(
    data: SearchRequest,
    request: Request,
    settings: Settings,
    database: Database,
    subject: str,
) -> JSONResponse:
    def page_url(query: list[tuple[str, str]]) -> str:
        return absolute_url(request, settings, SEARCH_PATH, query)

    with database.transaction(write=False) as session:
        user = find_active_user(session, subject)
        result = service.search_incidents(
            session,
            user,
            data,
            secret_key=settings.secret_key,
            limits=service.SearchLimits.from_settings(settings),
            page_url=page_url,
        )
    return JSONResponse(result.render())
