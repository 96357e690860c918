"""Analytics endpoints: the figures as JSON, and as a CSV table or PDF report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from devflowfix.analytics import service
from devflowfix.analytics.schemas import AnalyticsRead
from devflowfix.dependencies import CurrentUser, SessionDep
from devflowfix.exports import service as exports
from devflowfix.exports.files import DOWNLOAD_RESPONSES, download_response
from devflowfix.exports.schemas import AnalyticsExportQuery
from devflowfix.models.base import utcnow

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


@router.get("", response_model=AnalyticsRead)
def read_analytics(
    session: SessionDep,
    user: CurrentUser,
    days: Annotated[
        int, Query(ge=1, le=365, description="Days to analyse, ending today (UTC).")
    ] = 30,
) -> AnalyticsRead:
    """Your team's incident figures over the last days, against the days before."""
    return service.compute_analytics(session, user, days=days, now=utcnow())


@router.get(
    "/export",
    response_class=Response,
    responses={**DOWNLOAD_RESPONSES, 422: {"description": "Bad parameters."}},
)
def export_analytics(
    query: Annotated[AnalyticsExportQuery, Query()],
    session: SessionDep,
    user: CurrentUser,
) -> Response:
    """Download your team's analytics as one CSV table or as a PDF report."""
    export = exports.export_analytics(session, user, query, now=utcnow())
    return download_response(export)
