"""Parameters of the incident_analysis and incident_reanalysis jobs."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devflowfix.search.schemas import IncidentFilters

# Analysing an incident may mean fetching its log, so a job of ids stays at a
# size that finishes in reasonable time; filters select any number.
MAX_ANALYSIS_INCIDENT_IDS = 10_000

IncidentId = Annotated[str, Field(pattern=r"^inc_[0-9a-f]{12}$")]
IncidentIds = Annotated[
    list[IncidentId], Field(min_length=1, max_length=MAX_ANALYSIS_INCIDENT_IDS)
]


class AnalysisSelection(BaseModel):
    """Which incidents of the team: these ids, the matches of filters, or all."""

    model_config = ConfigDict(extra="forbid")

    incident_ids: IncidentIds | None = None
    filters: IncidentFilters | None = Field(
        default=None,
        description="The search request's filter fields. Date presets count "
        "from the job's creation.",
    )

    @model_validator(mode="after")
    def _at_most_one_selection(self) -> Self:
        if self.incident_ids is not None and self.filters is not None:
            raise ValueError("give incident_ids or filters, not both")
        return self

    def unique_ids(self) -> list[str] | None:
        """The given ids, each once, sorted (the order batches take them in)."""
        return sorted(set(self.incident_ids)) if self.incident_ids else None


class AnalysisParameters(AnalysisSelection):
    """incident_analysis: the selected incidents that were never analysed.

    Without ids or filters, every incident of the team never analysed.
    """


class ReanalysisParameters(AnalysisSelection):
    """incident_reanalysis: the selected incidents again, replacing what an
    earlier analysis (or a person) wrote. `filters: {}` selects every incident."""

    @model_validator(mode="after")
    def _one_selection(self) -> Self:
        if self.incident_ids is None and self.filters is None:
            raise ValueError(
                "give incident_ids or filters ({} re-analyses every incident)"
            )
        return self
