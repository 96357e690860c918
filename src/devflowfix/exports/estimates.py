"""How long an export job will take, from the rate this server's exports ran at.

The rate is measured on the last completed jobs of the same type: incidents
written over the seconds they ran. A server that has run none yet uses the
wall-clock rates bench/exports.py measured on a loaded 2-core machine. The answer is a
range, from that rate to a third of it, because the job shares the machine.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from devflowfix.exports import repository

# Incidents per second, and the seconds every job spends on counting, opening
# its file and (for a PDF) drawing its charts, before any history exists.
DEFAULT_RATES = {"export_csv": 10_000.0, "export_pdf": 200.0}
DEFAULT_OVERHEAD_SECONDS = {"export_csv": 0.5, "export_pdf": 1.0}
MEASURED_JOBS = 20
SLOWDOWN = 3


def estimate_export_seconds(session: Session, job_type: str, incidents: int) -> float:
    """Seconds an export job of `incidents` incidents should take to run."""
    runs = repository.recent_export_runs(session, job_type, count=MEASURED_JOBS)
    rate = measured_rate(runs) or DEFAULT_RATES[job_type]
    return DEFAULT_OVERHEAD_SECONDS[job_type] + incidents / rate


def measured_rate(
    runs: list[tuple[dict[str, Any] | None, datetime | None, datetime | None]],
) -> float | None:
    """Incidents per second over finished runs, or None without any to go by."""
    incidents = 0
    seconds = 0.0
    for result, started_at, completed_at in runs:
        count = (result or {}).get("incidents")
        if not isinstance(count, int) or started_at is None or completed_at is None:
            continue
        incidents += count
        seconds += max(0.0, (completed_at - started_at).total_seconds())
    if incidents == 0 or seconds <= 0:
        return None

    return incidents / seconds


def describe_estimate(seconds: float) -> str:
    """A range such as `2-6 seconds` or `2-5 minutes`, as the spec shows it."""
    slowest = seconds * SLOWDOWN
    if slowest < 60:
        low = max(1, math.floor(seconds))
        return f"{low}-{max(low + 1, math.ceil(slowest))} seconds"
    low = max(1, math.floor(seconds / 60))
    return f"{low}-{max(low + 1, math.ceil(slowest / 60))} minutes"
