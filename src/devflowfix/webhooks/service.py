"""Rules for webhook deliveries: verify, read, deduplicate, store.

Nothing is stored unless the signature holds and the body is a failure event.
A delivery id seen before, or a run that already has an incident, answers
with that incident and changes nothing but the list of the run's failed jobs.
The provider is never called here: a new incident is queued for analysis in
the same transaction, and fetching the log is the analysis job's work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devflowfix.auth import repository as auth_repository
from devflowfix.errors import NotFound, ValidationFailed
from devflowfix.incidents import repository as incidents_repository
from devflowfix.incidents.service import cap_log
from devflowfix.integrations.crypto import SecretBox
from devflowfix.integrations.service import webhook_secret
from devflowfix.models import Incident
from devflowfix.models.base import utcnow
from devflowfix.vocabulary import FailureType, Outcome, Provider
from devflowfix.webhooks import github, gitlab, jenkins, repository
from devflowfix.webhooks.events import FailureEvent, Ignored, InvalidPayload
from devflowfix.webhooks.schemas import DeliveryStatus
from devflowfix.webhooks.signatures import check_body_signature, check_shared_token

if TYPE_CHECKING:
    from devflowfix.analysis.automatic import AutomaticAnalysis

log = structlog.get_logger(__name__)

PROVIDER_LABELS = {
    Provider.GITHUB: "GitHub Actions",
    Provider.GITLAB: "GitLab CI",
    Provider.JENKINS: "Jenkins",
}
AWAITING_LOG = "awaiting_log"


@dataclass(frozen=True)
class Delivery:
    """A webhook request as the endpoint read it."""

    provider: Provider
    team: str
    body: bytes
    event: str | None = None
    delivery_id: str | None = None
    credential: str | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class VerifiedDelivery:
    team_id: int
    provider: Provider
    delivery_id: str | None
    outcome: FailureEvent | Ignored


@dataclass(frozen=True)
class DeliveryResult:
    status: DeliveryStatus
    incident: Incident | None = None
    reason: str | None = None


def verify_delivery(
    session: Session, delivery: Delivery, box: SecretBox
) -> VerifiedDelivery:
    """Check the team, the signature and the body; read the event in it."""
    team = auth_repository.find_team_by_name(session, delivery.team)
    secret = webhook_secret(session, team.id, delivery.provider, box) if team else None
    if team is None or secret is None:
        raise NotFound(
            f"No {delivery.provider.value} webhook is set up for team "
            f"{delivery.team!r}."
        )

    if delivery.provider is Provider.GITLAB:
        check_shared_token(secret, delivery.credential)
    else:
        check_body_signature(secret, delivery.body, delivery.credential)

    outcome = _read_outcome(delivery, _payload(delivery))
    return VerifiedDelivery(team.id, delivery.provider, delivery.delivery_id, outcome)


def _payload(delivery: Delivery) -> dict[str, Any]:
    try:
        text = delivery.body.decode("utf-8")
        if delivery.content_type == "application/x-www-form-urlencoded":
            # GitHub's form encoding puts the JSON in a `payload` field.
            text = parse_qs(text).get("payload", [""])[0]
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidPayload() from exc
    if not isinstance(payload, dict):
        raise InvalidPayload()

    return payload


def _read_outcome(
    delivery: Delivery, payload: dict[str, Any]
) -> FailureEvent | Ignored:
    try:
        if delivery.provider is Provider.GITHUB:
            return github.read_event(delivery.event or "", payload)
        if delivery.provider is Provider.GITLAB:
            return gitlab.read_event(delivery.event or "", payload)
        return jenkins.read_event(payload)
    except ValidationError as exc:
        raise ValidationFailed(
            "The webhook body is not a valid event of this kind.",
            errors=[
                {
                    "loc": ["body", *error["loc"]],
                    "msg": error["msg"],
                    "type": error["type"],
                }
                for error in exc.errors()
            ],
        ) from exc


def record_delivery(
    session: Session,
    verified: VerifiedDelivery,
    *,
    max_log_bytes: int,
    analysis: AutomaticAnalysis | None = None,
) -> DeliveryResult:
    """Store the failure as a new incident and queue its analysis, or answer
    with the incident it repeats."""
    if isinstance(verified.outcome, Ignored):
        _log(verified, DeliveryStatus.IGNORED, None)
        return DeliveryResult(DeliveryStatus.IGNORED, reason=verified.outcome.reason)

    event = verified.outcome
    if verified.delivery_id:
        seen = repository.find_delivered_incident(
            session, verified.team_id, verified.provider.value, verified.delivery_id
        )
        if seen is not None:
            _log(verified, DeliveryStatus.DUPLICATE, seen)
            return DeliveryResult(DeliveryStatus.DUPLICATE, seen)

    incident, created = _find_or_create(session, verified.team_id, event, max_log_bytes)
    _remember_delivery(session, verified, incident)
    if created and analysis is not None:
        analysis.queue(session, incident)

    status = DeliveryStatus.CREATED if created else DeliveryStatus.DUPLICATE
    _log(verified, status, incident)
    return DeliveryResult(status, incident)


def _find_or_create(
    session: Session, team_id: int, event: FailureEvent, max_log_bytes: int
) -> tuple[Incident, bool]:
    source = event.provider.source.value
    existing = incidents_repository.find_incident_by_external_id(
        session, team_id, source, event.external_id
    )

    if existing is None:
        try:
            # A concurrent delivery of the same run may insert first.
            with session.begin_nested():
                incident = _new_incident(team_id, event, max_log_bytes)
                incidents_repository.add_incident(session, incident)
            return incident, True
        except IntegrityError:
            existing = incidents_repository.find_incident_by_external_id(
                session, team_id, source, event.external_id
            )
            if existing is None:
                raise

    _add_job_ids(existing, event)
    return existing, False


def _new_incident(team_id: int, event: FailureEvent, max_log_bytes: int) -> Incident:
    now = utcnow()
    details = {
        **event.details,
        "job_ids": list(event.job_ids),
        "failed_step": event.failed_step,
        "placeholder_message": True,
    }

    return Incident(
        team_id=team_id,
        source=event.provider.source.value,
        severity=event.severity,
        failure_type=FailureType.UNKNOWN.value,
        outcome=Outcome.PENDING.value,
        repository=event.repository,
        branch=event.branch,
        commit_sha=event.commit_sha,
        workflow=event.workflow,
        job=event.job,
        run_url=event.run_url,
        external_id=event.external_id,
        error_message=event.placeholder_message(PROVIDER_LABELS[event.provider]),
        error_log=cap_log(event.log_excerpt, max_log_bytes),
        tags=[],
        timestamp=event.happened_at,
        created_at=now,
        updated_at=now,
        analysis_status=None if event.log_excerpt else AWAITING_LOG,
        provider_details=details,
    )


def _add_job_ids(incident: Incident, event: FailureEvent) -> None:
    details = dict(incident.provider_details or {})
    known = list(details.get("job_ids") or [])
    new = [job_id for job_id in event.job_ids if job_id not in known]
    if new:
        details["job_ids"] = known + new
        details.setdefault("failed_step", event.failed_step)
        incident.provider_details = details


def _remember_delivery(
    session: Session, verified: VerifiedDelivery, incident: Incident
) -> None:
    if not verified.delivery_id:
        return

    try:
        with session.begin_nested():
            repository.add_delivery(
                session,
                verified.team_id,
                verified.provider.value,
                verified.delivery_id[:128],
                incident.id,
            )
    except IntegrityError:
        # The same delivery id arrived twice at once; the first one counts.
        pass


def _log(
    verified: VerifiedDelivery, status: DeliveryStatus, incident: Incident | None
) -> None:
    log.info(
        "webhook.delivered",
        provider=verified.provider.value,
        team_id=verified.team_id,
        status=status.value,
        incident_id=incident.public_id if incident else None,
    )
