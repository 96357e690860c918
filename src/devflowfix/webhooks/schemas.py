"""The answer to a webhook delivery."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class DeliveryStatus(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class WebhookReceipt(BaseModel):
    status: DeliveryStatus = Field(
        description=(
            "`created` (201): a new incident; `duplicate` (200): the delivery or "
            "run was seen before, nothing new was stored; `ignored` (200): a ping, "
            "a success or an event that is not a failure."
        )
    )
    incident_id: str | None = None
    incident_url: str | None = None
    reason: str | None = Field(default=None, description="Why it was ignored.")
