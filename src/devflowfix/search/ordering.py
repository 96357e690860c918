"""Orders of search results, as runs of index order that keyset paging can resume.

Every order ends with the incident id, in the same direction as the sort
field, so no two incidents ever tie. A field that may be empty (confidence,
resolution time) sorts its empty values as the smallest: first in ascending
order, last in descending order, on both databases. The incidents with a
value and those without are two segments, each one a plain range of an
index, walked one after the other; the position in the order is the sort key
`(segment, value, id)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, tuple_
from sqlalchemy.sql.elements import UnaryExpression

from devflowfix.models import Incident
from devflowfix.search.cursors import SortKey
from devflowfix.search.schemas import SortField, SortOrder
from devflowfix.vocabulary import Severity

FIELD_COLUMNS: dict[SortField, Any] = {
    SortField.CREATED_AT: Incident.created_at,
    SortField.UPDATED_AT: Incident.updated_at,
    SortField.SEVERITY: Incident.severity,
    SortField.CONFIDENCE: Incident.confidence,
    SortField.RESOLUTION_TIME_SECONDS: Incident.resolution_time_seconds,
}
NULLABLE_FIELDS = frozenset({SortField.CONFIDENCE, SortField.RESOLUTION_TIME_SECONDS})
DATETIME_FIELDS = frozenset({SortField.CREATED_AT, SortField.UPDATED_AT})

VALUES = 0
EMPTY = 1


@dataclass(frozen=True, slots=True)
class Segment:
    """One run of the order: incidents with a sort value, or those without one."""

    kind: int


def segment_kinds(field: SortField, order: SortOrder) -> list[int]:
    """The segments of an order, in walking order."""
    if field not in NULLABLE_FIELDS:
        return [VALUES]
    return [VALUES, EMPTY] if order == SortOrder.DESC else [EMPTY, VALUES]


def parse_sort_value(field: SortField, raw: Any) -> Any:
    """A sort value read back from a cursor, in the column's own type."""
    if field in DATETIME_FIELDS:
        return datetime.fromisoformat(str(raw)).astimezone(UTC)
    if field == SortField.SEVERITY:
        return Severity.from_rank(int(raw))
    if field in (SortField.CONFIDENCE, SortField.RELEVANCE):
        return float(raw)
    return int(raw)


@dataclass(frozen=True, slots=True)
class Ordering:
    """An order of the incidents: its field, direction and segments."""

    field: SortField
    descending: bool
    value: Any
    incident_id: Any
    nullable: bool = False

    @classmethod
    def of(
        cls,
        field: SortField,
        order: SortOrder,
        *,
        value: Any = None,
        incident_id: Any = None,
    ) -> Ordering:
        """The order of `field`; relevance passes its own score and id columns."""
        return cls(
            field=field,
            descending=order == SortOrder.DESC,
            value=value if value is not None else FIELD_COLUMNS[field],
            incident_id=incident_id if incident_id is not None else Incident.id,
            nullable=field in NULLABLE_FIELDS,
        )

    def segments(self, *, reverse: bool = False) -> list[Segment]:
        """The segments in walking order; `reverse` walks the order backwards."""
        order = SortOrder.DESC if self.descending else SortOrder.ASC
        kinds = segment_kinds(self.field, order)
        if reverse:
            kinds.reverse()
        return [Segment(kind) for kind in kinds]

    def conditions(self, segment: Segment) -> list[ColumnElement[bool]]:
        """What puts an incident in `segment`."""
        if not self.nullable:
            return []
        if segment.kind == EMPTY:
            return [self.value.is_(None)]
        return [self.value.is_not(None)]

    def order_by(
        self, segment: Segment, *, reverse: bool
    ) -> list[UnaryExpression[Any]]:
        descending = self.descending != reverse
        columns = (
            [self.incident_id]
            if segment.kind == EMPTY
            else [self.value, self.incident_id]
        )
        return [column.desc() if descending else column.asc() for column in columns]

    def beyond(
        self, segment: Segment, key: SortKey, *, reverse: bool
    ) -> ColumnElement[bool] | None:
        """Incidents of `segment` that come after `key` (before it when `reverse`).

        None when the whole segment lies beyond the key; segments the key has
        already passed are not walked at all (see `segments_from`).
        """
        key_segment, raw_value, incident_id = key
        if segment.kind != key_segment:
            return None

        descending = self.descending != reverse
        if segment.kind == EMPTY:
            column: ColumnElement[int] = self.incident_id
            return column < incident_id if descending else column > incident_id

        value = parse_sort_value(self.field, raw_value)
        if self.field == SortField.RELEVANCE:
            # Scores are computed, not stored: compare without row values so
            # both databases evaluate the same float comparison.
            return _beyond_pair(
                self.value, self.incident_id, value, incident_id, descending
            )

        left = tuple_(self.value, self.incident_id)
        # Bound with the columns' own types: a row value would otherwise bind
        # with the storage type, and severity is stored as its rank.
        right = tuple_(
            literal(value, type_=self.value.type),
            literal(incident_id, type_=Incident.id.type),
        )

        return left < right if descending else left > right

    def segments_from(self, key: SortKey, *, reverse: bool) -> list[Segment]:
        """The segments still to walk from `key` on, the key's own first."""
        walk = self.segments(reverse=reverse)
        kinds = [segment.kind for segment in walk]
        return walk[kinds.index(key[0]) :] if key[0] in kinds else []

    def key_of(self, value: Any, incident_id: int) -> SortKey:
        """The sort key of an incident, as JSON-ready values."""
        if value is None and self.nullable:
            return (EMPTY, None, incident_id)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        elif hasattr(value, "rank"):
            value = value.rank
        return (VALUES, value, incident_id)


def _beyond_pair(
    value: Any, incident_id: Any, key_value: Any, key_id: int, descending: bool
) -> ColumnElement[bool]:
    if descending:
        return or_(value < key_value, and_(value == key_value, incident_id < key_id))
    return or_(value > key_value, and_(value == key_value, incident_id > key_id))
