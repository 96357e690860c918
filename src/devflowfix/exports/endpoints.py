"""Export endpoint: a team's incidents as a CSV file or a PDF report, or a job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from devflowfix.dependencies import (
    CurrentUser,
    JobDispatcherDep,
    SessionDep,
    SettingsDep,
    WriteSessionDep,
)
from devflowfix.exports import service
from devflowfix.exports.files import DOWNLOAD_RESPONSES, download_response
from devflowfix.exports.schemas import ExportJobCreated, IncidentExportQuery
from devflowfix.models.base import utcnow
from devflowfix.urls import absolute_url

router = APIRouter(prefix="/api/v1/incidents", tags=["exports"])


@router.get(
    "/export",
    response_class=Response,
    responses={
        **DOWNLOAD_RESPONSES,
        202: {
            "model": ExportJobCreated,
            "description": "More than 100 to export: an export job was queued; "
            "`Location` is its status URL.",
        },
        422: {"description": "Bad parameters."},
        429: {"description": "You have too many queued or processing jobs."},
    },
)
def export_incidents(
    query: Annotated[IncidentExportQuery, Query()],
    request: Request,
    session: SessionDep,
    write_session: WriteSessionDep,
    settings: SettingsDep,
    dispatcher: JobDispatcherDep,
    user: CurrentUser,
) -> Response:
    """Download your team's incidents, newest first; above 100 a job writes the file."""
    outcome = service.export_incidents(
        session,
        write_session,
        user,
        query,
        now=utcnow(),
        dispatcher=dispatcher,
        settings=settings,
    )

    if isinstance(outcome, service.QueuedExport):
        status_url = absolute_url(
            request, settings, f"/api/v1/jobs/{outcome.job.public_id}"
        )
        body = ExportJobCreated(
            message=outcome.message,
            job_id=outcome.job.public_id,
            status_url=status_url,
            estimated_time=outcome.estimated_time,
        )
        return JSONResponse(
            body.model_dump(mode="json"),
            status_code=202,
            headers={"Location": status_url},
        )

    return download_response(outcome)
