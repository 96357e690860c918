"""Automatic analysis: every new incident is queued for an incident_analysis job.

The queueing happens in the transaction that stores the incident, so an
incident is never stored without its analysis being queued, and a rolled-back
insert queues nothing.

Who owns the jobs: the team's service user (`auth.service.ensure_service_user`),
a user that cannot sign in. Nobody asked for these jobs, so they belong to no
person: they never count against anyone's active-jobs limit (the service user
is not limited either) and never appear in a person's job list or statistics.

Coalescing: a team has at most one automatic job that has not started yet.
A new incident joins that job's `incident_ids` instead of making a job of its
own, so a burst of deliveries makes one job (a new one once that job holds
`MAX_IDS_PER_JOB` or a worker has claimed it). A job that started is never
changed: its checkpoint counts positions in the ids it began with.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.orm import Session

from devflowfix.auth.service import ensure_service_user
from devflowfix.config import Settings
from devflowfix.jobs import repository as jobs_repository
from devflowfix.jobs.dispatch import JobDispatcher
from devflowfix.jobs.service import enqueue_job
from devflowfix.models import Incident, Job

log = structlog.get_logger(__name__)

JOB_TYPE = "incident_analysis"
MAX_IDS_PER_JOB = 500


@dataclass(frozen=True)
class AutomaticAnalysis:
    """Queues new incidents for analysis through this deployment's engine."""

    dispatcher: JobDispatcher
    settings: Settings

    def queue(self, session: Session, incident: Incident) -> Job | None:
        """Queue the stored incident's analysis; None when it is switched off."""
        if not self.settings.auto_analyse:
            return None

        owner = ensure_service_user(session, incident.team_id)
        # Serialises the team's automatic enqueues on PostgreSQL, so two
        # deliveries at once cannot both decide that no job is waiting.
        jobs_repository.lock_owner(session, owner.id)

        waiting = jobs_repository.find_unstarted_job(session, owner.id, JOB_TYPE)
        ids = (
            list((waiting.parameters or {}).get("incident_ids") or ())
            if waiting
            else []
        )
        if waiting is not None and len(ids) < MAX_IDS_PER_JOB:
            waiting.parameters = {"incident_ids": [*ids, incident.public_id]}
            session.flush()
            log.info(
                "analysis.joined_job",
                job_id=waiting.public_id,
                incident_id=incident.public_id,
                incidents=len(ids) + 1,
            )
            return waiting

        job = enqueue_job(
            session,
            owner,
            JOB_TYPE,
            {"incident_ids": [incident.public_id]},
            dispatcher=self.dispatcher,
            settings=self.settings,
            limit_active=False,
        )
        log.info(
            "analysis.queued", job_id=job.public_id, incident_id=incident.public_id
        )

        return job
