"""The FastAPI application, built from explicit settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import ProcessCollector

from devflowfix import __version__
from devflowfix.analytics.endpoints import router as analytics_router
from devflowfix.auth.endpoints import router as auth_router
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.errors import install_error_handlers
from devflowfix.exports.endpoints import router as exports_router
from devflowfix.health.endpoints import router as health_router
from devflowfix.incidents.endpoints import router as incidents_router
from devflowfix.integrations.endpoints import router as integrations_router
from devflowfix.jobs.endpoints import router as jobs_router
from devflowfix.jobs.engines import build_api_engine
from devflowfix.jobs.registry import load_job_types
from devflowfix.logging import configure_logging
from devflowfix.middleware import HTTPMetrics, RequestContextMiddleware
from devflowfix.openapi import install_openapi
from devflowfix.ratelimit import RateLimiter, RateLimitMiddleware
from devflowfix.search.endpoints import router as search_router
from devflowfix.users.endpoints import router as users_router
from devflowfix.web.endpoints import router as web_router
from devflowfix.web.endpoints import static_files
from devflowfix.webhooks.endpoints import router as webhooks_router

DESCRIPTION = """
DevFlowFix stores CI/CD failures as incidents, analyses their logs, and lets a
team search, bulk-edit, export and report on them.

Sign in with `POST /api/v1/auth/token` and send the token as
`Authorization: Bearer <token>`. Every error answers with the same envelope:
`error`, `message`, `errors`, `request_id` and `timestamp`.
"""


def create_app(settings: Settings, *, database: Database | None = None) -> FastAPI:
    """Build the application; nothing here reads the environment."""
    configure_logging(json_lines=settings.json_logs, level=settings.log_level)
    database = database or Database.from_settings(settings)
    metrics = HTTPMetrics()
    ProcessCollector(registry=metrics.registry)
    limiter = RateLimiter(settings) if settings.rate_limit_enabled else None
    load_job_types()
    job_engine = build_api_engine(settings, database)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if limiter is not None:
            await limiter.start()

        # On SQLite the embedded job runner lives as long as the app. Starting
        # recovers abandoned jobs and stopping waits for running ones, so both
        # run off the event loop.
        await asyncio.to_thread(job_engine.start)
        try:
            yield
        finally:
            await asyncio.to_thread(job_engine.stop)
            if limiter is not None:
                await limiter.close()

    app = FastAPI(
        title="DevFlowFix",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.metrics = metrics
    app.state.job_dispatcher = job_engine.dispatcher
    app.state.job_engine = job_engine

    install_error_handlers(app)
    install_openapi(app)
    if limiter is not None:
        app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=metrics,
        max_body_bytes=settings.max_request_bytes,
    )

    app.include_router(health_router)
    app.include_router(auth_router)
    # Fixed paths under /api/v1/incidents (search, export) go before
    # /api/v1/incidents/{incident_id}, or that route would take them.
    app.include_router(search_router)
    app.include_router(exports_router)
    app.include_router(incidents_router)
    app.include_router(analytics_router)
    app.include_router(integrations_router)
    app.include_router(webhooks_router)
    app.include_router(users_router)
    app.include_router(jobs_router)
    app.include_router(web_router)
    app.mount("/app/static", static_files(), name="dashboard-files")

    return app
