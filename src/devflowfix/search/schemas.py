"""Search requests and answers, and the filters that exports and bulk jobs share."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from devflowfix.fields import Tags, UTCDatetime
from devflowfix.incidents.schemas import IncidentRead, Repository
from devflowfix.search.dates import DatePreset, DateRange, resolve_preset
from devflowfix.vocabulary import FailureType, Outcome, Severity, Source


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {value!r}; use an IANA name") from exc
    return value


Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)]
# Query strings carry numbers as text.
TextUnit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Relation = Literal["eq", "gte"]


class IncidentFilters(BaseModel):
    """Which incidents of the team to take; every given filter must hold."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    search_query: Annotated[str, Field(max_length=10_000)] | None = Field(
        default=None,
        description=(
            "Full text over error message, root cause, log, repository, workflow "
            'and tags. Words are ANDed; "quoted phrases", -exclusions, prefix*.'
        ),
    )
    sources: list[Source] | None = None
    severities: list[Severity] | None = None
    outcomes: list[Outcome] | None = None
    failure_types: list[FailureType] | None = None
    tags: Tags | None = Field(
        default=None, description="Incidents that have all of these tags."
    )
    repository: Repository | None = None
    min_confidence: Unit | None = None
    max_confidence: Unit | None = None
    date_preset: DatePreset | None = None
    start_date: UTCDatetime | None = None
    end_date: UTCDatetime | None = None
    timezone: Annotated[str, AfterValidator(_known_timezone)] | None = Field(
        default=None,
        description="IANA timezone whose days the date presets count; default UTC.",
    )

    @model_validator(mode="after")
    def _check_ranges(self) -> Self:
        if (
            self.min_confidence is not None
            and self.max_confidence is not None
            and self.min_confidence > self.max_confidence
        ):
            raise ValueError("min_confidence is above max_confidence")
        if self.date_preset and (self.start_date or self.end_date):
            raise ValueError("give date_preset or start_date/end_date, not both")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")

        return self

    def date_range(self, now: datetime) -> DateRange | None:
        """The creation-date range these filters select, resolved at `now`."""
        if self.date_preset:
            return resolve_preset(
                DatePreset(self.date_preset), now=now, timezone=self.timezone
            )
        if self.start_date or self.end_date:
            return DateRange(self.start_date, self.end_date, end_inclusive=True)
        return None

    def applied(self) -> dict[str, Any]:
        """Exactly the filters the client set, as JSON values."""
        return self.model_dump(mode="json", exclude_unset=True, exclude_none=True)


FILTER_FIELDS = frozenset(IncidentFilters.model_fields)
MAX_PAGE = 10_000
MAX_PAGE_SIZE = 100
MAX_CURSOR_CHARS = 16_384


class SortField(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    SEVERITY = "severity"
    CONFIDENCE = "confidence"
    RESOLUTION_TIME_SECONDS = "resolution_time_seconds"
    RELEVANCE = "relevance"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class SearchRequest(IncidentFilters):
    """A search: the filters, then the order and the page to return."""

    sort_by: SortField = Field(
        default=SortField.CREATED_AT,
        description="`relevance` needs a `search_query`; ties are broken by id.",
    )
    sort_order: SortOrder = Field(
        default=SortOrder.DESC,
        description="`desc` puts the newest, highest or most relevant first.",
    )
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = 20
    cursor: Annotated[str, Field(min_length=1, max_length=MAX_CURSOR_CHARS)] | None = (
        Field(
            default=None,
            description=(
                "`next_cursor` or `previous_cursor` of an earlier answer, sent "
                "alone: it carries the filters, order and page size."
            ),
        )
    )
    highlight: bool = Field(
        default=False, description="Add `highlights` with the matched words marked."
    )
    include_facets: bool = Field(
        default=False,
        description="Add `summary.facets`: counts per source, severity, outcome "
        "and failure type.",
    )

    @model_validator(mode="after")
    def _check_paging(self) -> Self:
        if self.cursor is not None:
            others = sorted(self.model_fields_set - {"cursor"})
            if others:
                raise ValueError(
                    "a cursor carries its filters, order and page size; send it "
                    f"alone, without {', '.join(others)}"
                )
        elif (
            self.sort_by == SortField.RELEVANCE
            and not (self.search_query or "").strip()
        ):
            # A blank query is no text filter at all, so nothing has a score.
            raise ValueError("sort_by relevance needs a search_query")

        return self

    def filters(self) -> IncidentFilters:
        """The filter fields the client set, as filters of their own."""
        values = {name: getattr(self, name) for name in self.model_fields_set}
        return IncidentFilters.model_validate(
            {name: value for name, value in values.items() if name in FILTER_FIELDS}
        )


class SearchParameters(SearchRequest):
    """The search as query parameters, where every value arrives as text."""

    min_confidence: TextUnit | None = None
    max_confidence: TextUnit | None = None


class Pagination(BaseModel):
    current_page: int
    page_size: int
    total_items: int = Field(
        description="Exact when `total_items_relation` is `eq`; a lower bound "
        "(the count limit) when it is `gte`."
    )
    total_pages: int
    has_previous: bool
    has_next: bool
    previous_url: str | None
    next_url: str | None
    first_url: str
    last_url: str
    next_cursor: str | None
    previous_cursor: str | None
    total_items_relation: Relation


class DateRangeSummary(BaseModel):
    """The creation dates searched, with presets resolved; null when open."""

    start_date: datetime | None
    end_date: datetime | None
    preset: DatePreset | None


class FacetCounts(BaseModel):
    """Matches per value of each field, every value listed (zero included)."""

    sources: dict[str, int]
    severities: dict[str, int]
    outcomes: dict[str, int]
    failure_types: dict[str, int]
    counted: int = Field(description="How many matches the counts cover.")
    relation: Relation = Field(
        description="`eq`: every match; `gte`: the first `counted` matches in the "
        "requested order, because there are more than the count limit."
    )


class SearchSummary(BaseModel):
    total_results: int
    filters_applied: dict[str, Any]
    search_duration_ms: int
    date_range: DateRangeSummary
    facets: FacetCounts | None = Field(
        default=None, description="Only when the request sets `include_facets`."
    )


class SearchHit(IncidentRead):
    highlights: dict[str, list[str]] | None = Field(
        default=None,
        description="Only when the request sets `highlight`: per field, HTML-escaped "
        "fragments with the matched words in `<mark>` tags.",
    )


class SearchResponse(BaseModel):
    success: bool = True
    incidents: list[SearchHit]
    pagination: Pagination
    summary: SearchSummary

    def render(self) -> dict[str, Any]:
        """The JSON body; `highlights` and `facets` appear only when asked for."""
        exclude: dict[str, Any] = {}
        if all(hit.highlights is None for hit in self.incidents):
            exclude["incidents"] = {"__all__": {"highlights"}}
        if self.summary.facets is None:
            exclude["summary"] = {"facets"}
        return self.model_dump(mode="json", exclude=exclude)
