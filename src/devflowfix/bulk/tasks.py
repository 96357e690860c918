"""The bulk_update and bulk_delete job handlers.

Both take the selected incidents in batches of `DEVFLOWFIX_BULK_BATCH_SIZE`,
in id order. Each batch commits in one fenced transaction together with the
checkpoint (where the next batch starts) and the progress, so an attempt that
dies resumes after the last committed batch and never applies one twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from devflowfix.bulk import repository, service
from devflowfix.bulk.repository import IncidentRow, Scope
from devflowfix.bulk.schemas import (
    BulkDeleteParameters,
    BulkSelection,
    BulkUpdateParameters,
)
from devflowfix.incidents.repository import change_tag_rows
from devflowfix.jobs.context import JobContext
from devflowfix.jobs.registry import JobType, register_job_type
from devflowfix.models.base import utcnow
from devflowfix.vocabulary import Role

# Applies one batch and says how many incidents it changed (or deleted).
BatchAction = Callable[[Session, Sequence[IncidentRow]], int]


def bulk_update(
    context: JobContext, parameters: BulkUpdateParameters
) -> dict[str, Any]:
    """Apply `changes` to every selected incident that they change."""
    team_id = context.team_id

    def apply(session: Session, rows: Sequence[IncidentRow]) -> int:
        planned = service.plan_changes(rows, parameters.changes, utcnow())
        repository.update_incidents(session, planned.updates)
        change_tag_rows(session, team_id, planned.tags_added, planned.tags_removed)
        return len(planned.updates)

    matched, changed = _run_in_batches(context, parameters, apply, _update_step)
    return {"matched": matched, "changed": changed, "unchanged": matched - changed}


def bulk_delete(
    context: JobContext, parameters: BulkDeleteParameters
) -> dict[str, Any]:
    """Delete every selected incident."""

    def apply(session: Session, rows: Sequence[IncidentRow]) -> int:
        return repository.delete_incidents(session, [row.id for row in rows])

    matched, deleted = _run_in_batches(context, parameters, apply, _delete_step)
    return {"matched": matched, "deleted": deleted}


def _run_in_batches(
    context: JobContext,
    selection: BulkSelection,
    apply: BatchAction,
    describe: Callable[[dict[str, Any]], str],
) -> tuple[int, int]:
    state = context.checkpoint_data or _first_state(context, selection)
    scope = _scope(context, selection, state)

    size = context.settings.bulk_batch_size

    while not state["finished"]:
        with context.transaction() as session:
            batch = repository.next_batch(session, scope, state["cursor"], size)
            acted = apply(session, batch.rows)
            state = {
                **state,
                "cursor": batch.cursor,
                "processed": state["processed"] + len(batch.rows),
                "acted": state["acted"] + acted,
                "finished": batch.last,
            }

            context.checkpoint(state)
            context.report(
                state["processed"],
                describe(state),
                total=state["matched"],
            )

    return state["matched"], state["acted"]


def _update_step(state: dict[str, Any]) -> str:
    return (
        f"Checked {state['processed']:,} of {state['matched']:,} incidents, "
        f"changed {state['acted']:,}"
    )


def _delete_step(state: dict[str, Any]) -> str:
    return f"Deleted {state['acted']:,} of {state['matched']:,} incidents"


def _first_state(context: JobContext, selection: BulkSelection) -> dict[str, Any]:
    with context.read() as session:
        max_id = repository.highest_incident_id(session)
        scope = Scope(
            selection, context.team_id, context.created_at, _dialect(session), max_id
        )
        matched = repository.count_selected(session, scope)

    return {
        "max_id": max_id,
        "matched": matched,
        "cursor": 0,
        "processed": 0,
        "acted": 0,
        "finished": False,
    }


def _scope(
    context: JobContext, selection: BulkSelection, state: dict[str, Any]
) -> Scope:
    with context.read() as session:
        dialect = _dialect(session)
    return Scope(
        selection, context.team_id, context.created_at, dialect, state["max_id"]
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


register_job_type(
    JobType(
        name="bulk_update",
        parameters=BulkUpdateParameters,
        handler=bulk_update,
        validate=service.check_selection,
        description="Change outcome, severity, root cause, tags or resolution of "
        "many incidents.",
    )
)
register_job_type(
    JobType(
        name="bulk_delete",
        parameters=BulkDeleteParameters,
        handler=bulk_delete,
        role=Role.ADMIN,
        validate=service.check_selection,
        description="Delete many incidents.",
    )
)
