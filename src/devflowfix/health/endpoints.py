"""Probes for load balancers and the Prometheus scrape endpoint."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from devflowfix.dependencies import DatabaseDep

log = structlog.get_logger(__name__)

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def check_alive() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database is unreachable."}})
def check_ready(database: DatabaseDep) -> Any:
    """The process can reach its database."""
    try:
        database.ping()
    except Exception:
        log.warning("health.database_unreachable", exc_info=True)
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"}, status_code=503
        )
    return {"status": "ok", "database": database.dialect}


@router.get("/metrics", response_class=Response)
def export_metrics(request: Request) -> Response:
    """Request counts and latencies by route, in the Prometheus text format."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
