"""ORM tables, one module per aggregate."""

from devflowfix.models.base import Base
from devflowfix.models.incident import Incident, IncidentTag
from devflowfix.models.job import Job
from devflowfix.models.team import Team
from devflowfix.models.user import User

__all__ = ["Base", "Incident", "IncidentTag", "Job", "Team", "User"]
