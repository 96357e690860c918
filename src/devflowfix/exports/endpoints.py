"""Export endpoint: a team's incidents as a CSV file or a PDF report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from devflowfix.dependencies import CurrentUser, SessionDep
from devflowfix.exports import service
from devflowfix.exports.files import DOWNLOAD_RESPONSES, download_response
from devflowfix.exports.schemas import IncidentExportQuery
from devflowfix.models.base import utcnow

router = APIRouter(prefix="/api/v1/incidents", tags=["exports"])


@router.get(
    "/export",
    response_class=Response,
    responses={
        **DOWNLOAD_RESPONSES,
        422: {"description": "Bad parameters, or more than 100 to export."},
    },
)
def export_incidents(
    query: Annotated[IncidentExportQuery, Query()],
    session: SessionDep,
    user: CurrentUser,
) -> Response:
    """Download your team's incidents, newest first, as CSV or as a PDF report."""
    export = service.export_incidents(session, user, query, now=utcnow())
    return download_response(export)
