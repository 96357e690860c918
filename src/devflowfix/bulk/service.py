"""Rules of bulk edits: checking a selection, and what a change does to a row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from devflowfix.bulk import repository
from devflowfix.bulk.repository import IncidentRow
from devflowfix.bulk.schemas import BulkSelection, IncidentChanges
from devflowfix.errors import ValidationFailed
from devflowfix.fields import MAX_TAGS
from devflowfix.models import User
from devflowfix.models.base import utcnow
from devflowfix.search.repository import filter_conditions
from devflowfix.vocabulary import Severity

# How many unknown ids a 422 names before it says "and N more".
NAMED_MISSING_IDS = 10


def check_selection(session: Session, user: User, selection: BulkSelection) -> None:
    """Refuse ids that are not the team's, and filters that cannot run (422)."""
    if selection.filters is not None:
        dialect = session.get_bind().dialect.name
        filter_conditions(
            selection.filters, user.team_id, now=utcnow(), dialect=dialect
        )
        return

    missing = repository.missing_incident_ids(
        session, user.team_id, selection.unique_ids()
    )

    if missing:
        named = ", ".join(missing[:NAMED_MISSING_IDS])
        more = len(missing) - NAMED_MISSING_IDS
        suffix = f" and {more} more" if more > 0 else ""
        raise ValidationFailed.for_field(
            "incident_ids", f"Your team has no incidents {named}{suffix}."
        )


@dataclass
class PlannedChanges:
    """The writes one batch needs: changed rows, and tag rows to add or remove."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    tags_added: list[tuple[int, str]] = field(default_factory=list)
    tags_removed: list[tuple[int, str]] = field(default_factory=list)


def plan_changes(
    rows: Sequence[IncidentRow], changes: IncidentChanges, now: datetime
) -> PlannedChanges:
    """The values that change per incident; incidents already so are left out."""
    planned = PlannedChanges()
    for row in rows:
        values = _changed_values(row, changes, now)
        if "tags" in values:
            old, new = set(row.tags or ()), set(values["tags"])
            planned.tags_added += [(row.id, tag) for tag in new - old]
            planned.tags_removed += [(row.id, tag) for tag in old - new]
        if values:
            planned.updates.append({"id": row.id, "updated_at": now, **values})

    return planned


def _changed_values(
    row: IncidentRow, changes: IncidentChanges, now: datetime
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if changes.outcome is not None and row.outcome != changes.outcome:
        values["outcome"] = changes.outcome
    if changes.severity is not None and row.severity != Severity(changes.severity):
        values["severity"] = Severity(changes.severity)
    if changes.sets_root_cause and row.root_cause != changes.root_cause:
        values["root_cause"] = changes.root_cause

    tags = _changed_tags(list(row.tags or ()), changes)
    if tags is not None:
        values["tags"] = tags
    values.update(_resolution(row, changes.resolved, now))

    return values


def _changed_tags(current: list[str], changes: IncidentChanges) -> list[str] | None:
    removed = set(changes.tags_remove)
    kept = [tag for tag in current if tag not in removed]
    added = [tag for tag in changes.tags_add if tag not in kept]
    # An incident holds at most MAX_TAGS tags; the ones it had come first.
    tags = (kept + added)[:MAX_TAGS]
    return None if tags == current else tags


def _resolution(
    row: IncidentRow, resolved: bool | None, now: datetime
) -> dict[str, Any]:
    if resolved is True and row.resolved_at is None:
        seconds = max(0, int((now - row.timestamp).total_seconds()))
        return {"resolved_at": now, "resolution_time_seconds": seconds}
    if resolved is False and row.resolved_at is not None:
        return {"resolved_at": None, "resolution_time_seconds": None}
    return {}
