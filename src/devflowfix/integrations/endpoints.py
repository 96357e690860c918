"""Integration endpoints: admins set a provider's secret, token and URL."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from devflowfix.dependencies import (
    AdminUser,
    SessionDep,
    SettingsDep,
    WriteSessionDep,
    require_json,
)
from devflowfix.integrations import service
from devflowfix.integrations.crypto import SecretBox
from devflowfix.integrations.schemas import (
    MASK,
    IntegrationList,
    IntegrationRead,
    IntegrationUpdate,
)
from devflowfix.integrations.service import IntegrationState
from devflowfix.urls import absolute_url

router = APIRouter(
    prefix="/api/v1/integrations",
    tags=["integrations"],
    dependencies=[Depends(require_json)],
)
ERRORS: dict[int | str, dict[str, Any]] = {403: {"description": "Admins only."}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"description": "No such provider."},
}


def _read(
    state: IntegrationState, team: str, request: Request, settings: SettingsDep
) -> IntegrationRead:
    row = state.integration

    return IntegrationRead(
        provider=state.provider,
        configured=row is not None,
        webhook_secret=MASK if row and row.webhook_secret_encrypted else None,
        token=MASK if row and row.token_encrypted else None,
        base_url=state.base_url,
        api_url=state.api_url,
        webhook_url=absolute_url(
            request, settings, f"/api/v1/webhooks/{state.provider.value}/{team}"
        ),
        updated_at=row.updated_at if row else None,
    )


@router.get("", response_model=IntegrationList, responses=ERRORS)
def list_integrations(
    request: Request, session: SessionDep, settings: SettingsDep, user: AdminUser
) -> IntegrationList:
    """Your team's settings for every CI provider, secrets masked."""
    states = service.list_integrations(session, user.team_id)
    return IntegrationList(
        integrations=[
            _read(state, user.team.name, request, settings) for state in states
        ]
    )


@router.get(
    "/{provider}",
    response_model=IntegrationRead,
    responses=NOT_FOUND,
)
def read_integration(
    provider: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
) -> IntegrationRead:
    """Your team's settings for one CI provider, secrets masked."""
    state = service.read_integration(
        session, user.team_id, service.provider_named(provider)
    )
    return _read(state, user.team.name, request, settings)


@router.put(
    "/{provider}",
    response_model=IntegrationRead,
    responses=NOT_FOUND,
)
def set_integration(
    provider: str,
    data: IntegrationUpdate,
    request: Request,
    session: WriteSessionDep,
    settings: SettingsDep,
    user: AdminUser,
) -> IntegrationRead:
    """Set your team's webhook secret, token or base URL for a CI provider."""
    state = service.set_integration(
        session,
        user.team_id,
        service.provider_named(provider),
        data,
        SecretBox.from_settings(settings),
    )
    return _read(state, user.team.name, request, settings)
