"""Integration request and response bodies; secrets only ever leave masked."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from devflowfix.vocabulary import Provider

MASK = "********"
BASE_URL = re.compile(r"^https?://[A-Za-z0-9.\-]{1,253}(?::\d{1,5})?(?:/[^\s?#]*)?$")


def _no_whitespace(value: str) -> str:
    if value != value.strip() or any(character.isspace() for character in value):
        raise ValueError("must not contain spaces or line breaks")
    return value


def _base_url(value: str) -> str:
    if not BASE_URL.match(value):
        raise ValueError(
            "give an http(s) URL with a host and optional path, without "
            "credentials, query or fragment"
        )
    return value.rstrip("/")


WebhookSecret = Annotated[
    str, Field(min_length=16, max_length=256), AfterValidator(_no_whitespace)
]
ProviderToken = Annotated[
    str, Field(min_length=1, max_length=4096), AfterValidator(_no_whitespace)
]
BaseUrl = Annotated[str, Field(max_length=2048), AfterValidator(_base_url)]


class IntegrationUpdate(BaseModel):
    """Settings to change: a field left out keeps its value, `null` clears it."""

    model_config = ConfigDict(extra="forbid")

    webhook_secret: WebhookSecret | None = Field(
        default=None,
        description="The secret the provider signs webhooks with (16+ characters).",
    )
    token: ProviderToken | None = Field(
        default=None,
        description=(
            "The API token the service fetches job logs with; for Jenkins "
            "`user:api-token`."
        ),
    )
    base_url: BaseUrl | None = Field(
        default=None,
        description=(
            "Where the provider lives: a GitHub Enterprise or self-hosted GitLab "
            "host (its web root or API root), or the Jenkins URL."
        ),
    )


class IntegrationRead(BaseModel):
    provider: Provider
    configured: bool
    webhook_secret: str | None = Field(description=f"`{MASK}` when set.")
    token: str | None = Field(description=f"`{MASK}` when set.")
    base_url: str | None
    api_url: str | None = Field(
        description=(
            "The provider API root that log fetches and fix pull requests use, "
            "from `base_url` or the provider's default."
        )
    )
    webhook_url: str
    updated_at: datetime | None


class IntegrationList(BaseModel):
    integrations: list[IntegrationRead]
