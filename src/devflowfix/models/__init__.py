"""ORM tables, one module per aggregate."""

from devflowfix.models.base import Base
from devflowfix.models.incident import Incident, IncidentTag
from devflowfix.models.integration import TeamIntegration
from devflowfix.models.job import Job
from devflowfix.models.team import Team
from devflowfix.models.user import User
from devflowfix.models.webhook import WebhookDelivery

__all__ = [
    "Base",
    "Incident",
    "IncidentTag",
    "Job",
    "Team",
    "TeamIntegration",
    "User",
    "WebhookDelivery",
]
