"""Parameters of the bulk_update and bulk_delete jobs."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devflowfix.fields import Tags
from devflowfix.incidents.schemas import LongText
from devflowfix.search.schemas import IncidentFilters
from devflowfix.vocabulary import Outcome, Severity

MAX_BULK_INCIDENT_IDS = 100_000

IncidentId = Annotated[str, Field(pattern=r"^inc_[0-9a-f]{12}$")]


class BulkSelection(BaseModel):
    """Which incidents of the team: either these ids or every match of filters."""

    model_config = ConfigDict(extra="forbid")

    incident_ids: (
        Annotated[
            list[IncidentId], Field(min_length=1, max_length=MAX_BULK_INCIDENT_IDS)
        ]
        | None
    ) = None
    filters: IncidentFilters | None = Field(
        default=None,
        description="The search request's filter fields; `{}` selects every "
        "incident of the team. Date presets count from the job's creation.",
    )

    @model_validator(mode="after")
    def _one_selection(self) -> Self:
        if (self.incident_ids is None) == (self.filters is None):
            raise ValueError("give either incident_ids or filters, not both or neither")
        return self

    def unique_ids(self) -> list[str]:
        """The given ids, each once, sorted: the order batches take them in."""
        return sorted(set(self.incident_ids or ()))


class IncidentChanges(BaseModel):
    """What bulk_update does to every selected incident; at least one change."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    outcome: Outcome | None = None
    severity: Severity | None = None
    root_cause: LongText | None = Field(
        default=None,
        description="`null` clears the root cause; leave it out to keep it.",
    )
    tags_add: Tags = Field(default_factory=list)
    tags_remove: Tags = Field(default_factory=list)
    resolved: bool | None = Field(
        default=None,
        description="`true` resolves unresolved incidents now; `false` reopens "
        "resolved ones.",
    )

    @model_validator(mode="after")
    def _check_changes(self) -> Self:
        given = self.model_fields_set
        for field in ("outcome", "severity", "resolved"):
            if field in given and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")

        if not (given - {"tags_add", "tags_remove"}) and not (
            self.tags_add or self.tags_remove
        ):
            raise ValueError("give at least one change")
        if set(self.tags_add) & set(self.tags_remove):
            raise ValueError("a tag cannot be both added and removed")

        return self

    @property
    def sets_root_cause(self) -> bool:
        return "root_cause" in self.model_fields_set


class BulkUpdateParameters(BulkSelection):
    changes: IncidentChanges


class BulkDeleteParameters(BulkSelection):
    pass
