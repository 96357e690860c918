"""Webhook endpoints: one per provider, signed with the team's webhook secret."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from devflowfix.dependencies import (
    AutomaticAnalysisDep,
    SessionDep,
    SettingsDep,
    WriteSessionDep,
)
from devflowfix.errors import PayloadTooLarge
from devflowfix.integrations.crypto import SecretBox
from devflowfix.urls import absolute_url
from devflowfix.vocabulary import Provider
from devflowfix.webhooks import service
from devflowfix.webhooks.schemas import DeliveryStatus, WebhookReceipt
from devflowfix.webhooks.service import Delivery, DeliveryResult

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookReceipt, "description": "A duplicate or an ignored event."},
    400: {"description": "The body is not a JSON object."},
    401: {"description": "The signature or token is missing or wrong."},
    404: {"description": "No such team, or no webhook secret set for it."},
    413: {"description": "The body is over DEVFLOWFIX_WEBHOOK_MAX_BYTES."},
    422: {"description": "The body is not a valid event of this provider."},
}
JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


async def webhook_body(request: Request, settings: SettingsDep) -> bytes:
    """The raw body (signatures cover its exact bytes), read up to the cap."""
    limit = settings.webhook_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"A webhook body is at most {limit} bytes.")

    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"A webhook body is at most {limit} bytes.")
        chunks.append(chunk)

    return b"".join(chunks)


BodyDep = Annotated[bytes, Depends(webhook_body)]


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _receive(
    delivery: Delivery,
    request: Request,
    read_session: SessionDep,
    session: WriteSessionDep,
    settings: SettingsDep,
    analysis: AutomaticAnalysisDep,
) -> JSONResponse:
    verified = service.verify_delivery(
        read_session, delivery, SecretBox.from_settings(settings)
    )
    result = service.record_delivery(
        session,
        verified,
        max_log_bytes=settings.max_error_log_bytes,
        analysis=analysis,
    )

    return _answer(result, request, settings)


def _answer(
    result: DeliveryResult, request: Request, settings: SettingsDep
) -> JSONResponse:
    incident = result.incident
    url = (
        absolute_url(request, settings, f"/api/v1/incidents/{incident.public_id}")
        if incident
        else None
    )

    receipt = WebhookReceipt(
        status=result.status,
        incident_id=incident.public_id if incident else None,
        incident_url=url,
        reason=result.reason,
    )

    created = result.status is DeliveryStatus.CREATED
    return JSONResponse(
        receipt.model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"Location": url} if created and url else None,
    )


@router.post(
    "/github/{team}",
    status_code=201,
    response_model=WebhookReceipt,
    responses=RESPONSES,
    openapi_extra=JSON_BODY,
)
def receive_github_webhook(
    team: str,
    request: Request,
    body: BodyDep,
    read_session: SessionDep,
    session: WriteSessionDep,
    settings: SettingsDep,
    analysis: AutomaticAnalysisDep,
    event: Annotated[str | None, Header(alias="X-GitHub-Event")] = None,
    delivery_id: Annotated[str | None, Header(alias="X-GitHub-Delivery")] = None,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
) -> JSONResponse:
    """Turn a failed GitHub Actions workflow_job or workflow_run into an incident."""
    delivery = Delivery(
        Provider.GITHUB, team, body, event, delivery_id, signature, _media_type(request)
    )
    return _receive(delivery, request, read_session, session, settings, analysis)


@router.post(
    "/gitlab/{team}",
    status_code=201,
    response_model=WebhookReceipt,
    responses=RESPONSES,
    openapi_extra=JSON_BODY,
)
def receive_gitlab_webhook(
    team: str,
    request: Request,
    body: BodyDep,
    read_session: SessionDep,
    session: WriteSessionDep,
    settings: SettingsDep,
    analysis: AutomaticAnalysisDep,
    event: Annotated[str | None, Header(alias="X-Gitlab-Event")] = None,
    delivery_id: Annotated[str | None, Header(alias="X-Gitlab-Event-UUID")] = None,
    token: Annotated[str | None, Header(alias="X-Gitlab-Token")] = None,
) -> JSONResponse:
    """Turn a failed GitLab CI pipeline or job event into an incident."""
    delivery = Delivery(
        Provider.GITLAB, team, body, event, delivery_id, token, _media_type(request)
    )
    return _receive(delivery, request, read_session, session, settings, analysis)


@router.post(
    "/jenkins/{team}",
    status_code=201,
    response_model=WebhookReceipt,
    responses=RESPONSES,
    openapi_extra=JSON_BODY,
)
def receive_jenkins_webhook(
    team: str,
    request: Request,
    body: BodyDep,
    read_session: SessionDep,
    session: WriteSessionDep,
    settings: SettingsDep,
    analysis: AutomaticAnalysisDep,
    signature: Annotated[str | None, Header(alias="X-Jenkins-Signature-256")] = None,
) -> JSONResponse:
    """Turn a failed Jenkins build (Notification plugin JSON) into an incident."""
    delivery = Delivery(
        Provider.JENKINS, team, body, None, None, signature, _media_type(request)
    )
    return _receive(delivery, request, read_session, session, settings, analysis)
