"""Incident endpoints: one incident at a time, and a plain paged list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from devflowfix.dependencies import (
    AdminUser,
    AutomaticAnalysisDep,
    CurrentUser,
    MemberUser,
    SessionDep,
    SettingsDep,
    WriteSessionDep,
    require_json,
)
from devflowfix.incidents import service
from devflowfix.incidents.schemas import (
    IncidentCreate,
    IncidentDetail,
    IncidentPage,
    IncidentRead,
    IncidentUpdate,
)
from devflowfix.routing import IncidentId
from devflowfix.urls import absolute_url

router = APIRouter(
    prefix="/api/v1/incidents", tags=["incidents"], dependencies=[Depends(require_json)]
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IncidentDetail)
def create_incident(
    data: IncidentCreate,
    request: Request,
    response: Response,
    session: WriteSessionDep,
    settings: SettingsDep,
    analysis: AutomaticAnalysisDep,
    user: MemberUser,
) -> IncidentDetail:
    """Record a CI/CD failure as a new incident of your team; it is analysed soon."""
    incident = service.create_incident(
        session,
        user,
        data,
        max_log_bytes=settings.max_error_log_bytes,
        analysis=analysis,
    )
    response.headers["Location"] = absolute_url(
        request, settings, f"/api/v1/incidents/{incident.public_id}"
    )

    return IncidentDetail.of(incident)


@router.get("", response_model=IncidentPage)
def list_incidents(
    session: SessionDep,
    user: CurrentUser,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> IncidentPage:
    """Your team's incidents, newest first; use search for filters."""
    incidents, total = service.page_incidents(
        session, user, page=page, page_size=page_size
    )
    return IncidentPage(
        incidents=[IncidentRead.of(incident) for incident in incidents],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/{incident_id:incident_id}", response_model=IncidentDetail)
def read_incident(
    incident_id: IncidentId, session: SessionDep, user: CurrentUser
) -> IncidentDetail:
    """One incident of your team, with its log excerpt and analysis."""
    return IncidentDetail.of(service.find_incident(session, user, incident_id))


@router.patch("/{incident_id:incident_id}", response_model=IncidentDetail)
def update_incident(
    incident_id: IncidentId,
    data: IncidentUpdate,
    session: WriteSessionDep,
    settings: SettingsDep,
    user: MemberUser,
) -> IncidentDetail:
    """Change fields of an incident; `resolved_at` sets the resolution time."""
    incident = service.update_incident(
        session, user, incident_id, data, max_log_bytes=settings.max_error_log_bytes
    )
    return IncidentDetail.of(incident)


@router.delete("/{incident_id:incident_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_incident(
    incident_id: IncidentId, session: WriteSessionDep, user: AdminUser
) -> Response:
    """Delete an incident of your team (admins only)."""
    service.delete_incident(session, user, incident_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
