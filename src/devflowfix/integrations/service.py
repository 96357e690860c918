"""Rules for team integrations: who sets them, how secrets are kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm import Session

from devflowfix.errors import NotFound, ValidationFailed
from devflowfix.integrations import repository
from devflowfix.integrations.crypto import SecretBox
from devflowfix.integrations.logs import LogTarget
from devflowfix.integrations.retry import LogFetchError
from devflowfix.integrations.schemas import IntegrationUpdate
from devflowfix.models import Incident, TeamIntegration
from devflowfix.models.base import utcnow
from devflowfix.pullrequests.remotes import Credentials, endpoints_of
from devflowfix.pullrequests.remotes import Provider as RemoteProvider
from devflowfix.vocabulary import Provider

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IntegrationState:
    """A provider's settings for a team, configured or not."""

    provider: Provider
    integration: TeamIntegration | None

    @property
    def base_url(self) -> str | None:
        return self.integration.base_url if self.integration else None

    @property
    def api_url(self) -> str | None:
        """The root of the provider's REST API that this base URL means.

        GitHub and GitLab read `base_url` as fix pull requests do: the web
        root (github.com, a GitHub Enterprise or GitLab host) or the API root
        itself; Jenkins' API is its base URL.
        """
        if self.provider is Provider.JENKINS:
            return self.base_url

        remote_provider = RemoteProvider(self.provider.value)
        return endpoints_of(remote_provider, self.base_url).api_url


def provider_named(name: str) -> Provider:
    """The provider called `name`, else `NotFound`."""
    try:
        return Provider(name)
    except ValueError as exc:
        known = ", ".join(provider.value for provider in Provider)
        raise NotFound(f"No provider {name!r}; use one of {known}.") from exc


def set_integration(
    session: Session,
    team_id: int,
    provider: Provider,
    data: IntegrationUpdate,
    box: SecretBox,
) -> IntegrationState:
    """Change the given settings of the team's integration with `provider`."""
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    _check_token(provider, changes.get("token"))

    integration = repository.find_integration(session, team_id, provider.value)
    if integration is None:
        integration = TeamIntegration(team_id=team_id, provider=provider.value)
        repository.add_integration(session, integration)

    _apply(integration, changes, box)
    integration.updated_at = utcnow()
    session.flush()

    log.info(
        "integration.updated",
        team_id=team_id,
        provider=provider.value,
        fields=sorted(changes),
    )

    return IntegrationState(provider, integration)


def _check_token(provider: Provider, token: str | None) -> None:
    if provider is Provider.JENKINS and token is not None and ":" not in token:
        raise ValidationFailed.for_field(
            "token", "A Jenkins token is `user:api-token`, with the colon."
        )


def _apply(
    integration: TeamIntegration, changes: dict[str, Any], box: SecretBox
) -> None:
    if "webhook_secret" in changes:
        secret = changes["webhook_secret"]
        integration.webhook_secret_encrypted = box.encrypt(secret) if secret else None
    if "token" in changes:
        token = changes["token"]
        integration.token_encrypted = box.encrypt(token) if token else None
    if "base_url" in changes:
        integration.base_url = changes["base_url"]


def read_integration(
    session: Session, team_id: int, provider: Provider
) -> IntegrationState:
    """The team's settings for `provider`."""
    integration = repository.find_integration(session, team_id, provider.value)
    return IntegrationState(provider, integration)


def list_integrations(session: Session, team_id: int) -> list[IntegrationState]:
    """The team's settings for every provider, configured or not."""
    rows = {
        row.provider: row for row in repository.find_team_integrations(session, team_id)
    }
    return [
        IntegrationState(provider, rows.get(provider.value)) for provider in Provider
    ]


def webhook_secret(
    session: Session, team_id: int, provider: Provider, box: SecretBox
) -> str | None:
    """The team's decrypted webhook secret for `provider`, if it set one."""
    integration = repository.find_integration(session, team_id, provider.value)
    if integration is None or integration.webhook_secret_encrypted is None:
        return None
    return box.decrypt(integration.webhook_secret_encrypted)


def reencrypt_secrets(session: Session, box: SecretBox) -> int:
    """Encrypt every stored secret with the current key; the count of rows."""
    rows = repository.find_all_integrations(session)
    for row in rows:
        if row.webhook_secret_encrypted:
            row.webhook_secret_encrypted = box.reencrypt(row.webhook_secret_encrypted)
        if row.token_encrypted:
            row.token_encrypted = box.reencrypt(row.token_encrypted)

    session.flush()
    log.info("integration.secrets_reencrypted", rows=len(rows))
    return len(rows)


def log_target_for(session: Session, incident: Incident, box: SecretBox) -> LogTarget:
    """Where the incident's log lives, with the team's token to read it.

    Raises `LogFetchError` (not retryable) when the incident did not come from
    a provider or the team has not set what a fetch needs.
    """
    details = dict(incident.provider_details or {})
    try:
        provider = Provider(str(details.get("provider")))
    except ValueError as exc:
        raise LogFetchError(
            "The incident did not come from a provider webhook.", retryable=False
        ) from exc

    state = read_integration(session, incident.team_id, provider)
    row = state.integration
    if row is None or row.token_encrypted is None:
        raise LogFetchError(
            f"The team has no {provider.value} token to fetch the log with; set "
            f"one with PUT /api/v1/integrations/{provider.value}.",
            retryable=False,
        )

    if state.api_url is None:
        raise LogFetchError(
            f"The team has no {provider.value} base_url to fetch the log from.",
            retryable=False,
        )

    return LogTarget(
        provider=provider,
        api_url=state.api_url,
        token=box.decrypt(row.token_encrypted),
        details=details,
    )


def pull_request_credentials(
    session: Session, team_id: int, box: SecretBox
) -> dict[RemoteProvider, Credentials]:
    """The team's GitHub and GitLab tokens and base URLs, decrypted, in the
    form fix pull requests take them."""
    credentials = {}
    for state in list_integrations(session, team_id):
        row = state.integration
        if row is None or state.provider is Provider.JENKINS:
            continue
        token = box.decrypt(row.token_encrypted) if row.token_encrypted else None
        credentials[RemoteProvider(state.provider.value)] = Credentials(
            token=token, base_url=row.base_url
        )

    return credentials
