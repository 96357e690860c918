"""Queries of bulk jobs: the selected incidents, taken in batches by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Row,
    Table,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from devflowfix.bulk.schemas import BulkSelection
from devflowfix.models import Incident
from devflowfix.search.repository import filter_conditions

# SQLite allows 32,766 bound parameters per statement; batches stay far below.
ID_CHUNK = 10_000

BATCH_COLUMNS = (
    Incident.id,
    Incident.tags,
    Incident.timestamp,
    Incident.resolved_at,
    Incident.outcome,
    Incident.severity,
    Incident.root_cause,
)


@dataclass(frozen=True)
class Scope:
    """The selection of one bulk job, fixed when the job first started.

    `max_id` leaves out incidents created after that, so a job never chases
    new arrivals; `now` resolves date presets the same way on every attempt.
    """

    selection: BulkSelection
    team_id: int
    now: datetime
    dialect: str
    max_id: int

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions = [Incident.team_id == self.team_id, Incident.id <= self.max_id]
        if self.selection.filters is not None:
            conditions += filter_conditions(
                self.selection.filters, self.team_id, now=self.now, dialect=self.dialect
            )
        return conditions


# A row of BATCH_COLUMNS.
IncidentRow = Row[*tuple[Any, ...]]


@dataclass(frozen=True)
class Batch:
    rows: Sequence[IncidentRow]
    cursor: int
    last: bool


def highest_incident_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Incident.id))) or 0)


def count_selected(session: Session, scope: Scope) -> int:
    """How many incidents the scope selects now."""
    ids = scope.selection.unique_ids()
    if not ids:
        return int(
            session.scalar(
                select(func.count()).select_from(Incident).where(*scope.conditions())
            )
            or 0
        )

    total = 0
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        total += int(
            session.scalar(
                select(func.count())
                .select_from(Incident)
                .where(*scope.conditions(), Incident.public_id.in_(chunk))
            )
            or 0
        )

    return total


def missing_incident_ids(session: Session, team_id: int, ids: list[str]) -> list[str]:
    """The ids among `ids` that name no incident of the team."""
    found: set[str] = set()
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        found.update(
            session.scalars(
                select(Incident.public_id).where(
                    Incident.team_id == team_id, Incident.public_id.in_(chunk)
                )
            )
        )

    return [incident_id for incident_id in ids if incident_id not in found]


def next_batch(session: Session, scope: Scope, cursor: int, size: int) -> Batch:
    """The next `size` selected incidents after `cursor`, in id order.

    With filters the cursor is the last incident id done; with incident ids it
    is how many of the sorted ids are done.
    """
    ids = scope.selection.unique_ids()
    if ids:
        chunk = ids[cursor : cursor + size]

        rows = session.execute(
            select(*BATCH_COLUMNS)
            .where(*scope.conditions(), Incident.public_id.in_(chunk))
            .order_by(Incident.id)
        ).all()
        end = cursor + len(chunk)
        return Batch(rows, end, end >= len(ids))

    rows = session.execute(
        select(*BATCH_COLUMNS)
        .where(*scope.conditions(), Incident.id > cursor)
        .order_by(Incident.id)
        .limit(size)
    ).all()

    return Batch(rows, rows[-1].id if rows else cursor, len(rows) < size)


def update_incidents(session: Session, changes: list[dict[str, Any]]) -> None:
    """Write each dict's values to the incident with its `id`.

    Rows that change the same columns share one executemany. Core statements,
    not the ORM's bulk update: at 100,000 rows the ORM's per-row bookkeeping
    costs several times the database's own work.
    """
    # TODO: on SQLite a changed `tags` re-indexes the whole row for full-text
    # search (log included), most of a bulk update's time; tags need a
    # full-text document of their own.
    table = cast(Table, Incident.__table__)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        columns = tuple(sorted(key for key in change if key != "id"))
        groups.setdefault(columns, []).append(
            {"row_id": change["id"], **{f"new_{key}": change[key] for key in columns}}
        )

    for columns, rows in groups.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({column: bindparam(f"new_{column}") for column in columns})
        )
        session.execute(statement, rows)


def delete_incidents(session: Session, incident_ids: list[int]) -> int:
    """Delete incidents by id; their tag rows go with them (ON DELETE CASCADE)."""
    if not incident_ids:
        return 0
    result = session.execute(
        delete(Incident)
        .where(Incident.id.in_(incident_ids))
        .execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", result).rowcount
