"""structlog set-up: console lines in development, JSON lines in production.

Standard-library loggers (uvicorn, alembic) go through the same processors, so
every line of a request carries its `request_id`, whoever wrote it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

SECRET_KEYS = frozenset(
    {"password", "token", "secret", "authorization", "webhook_secret", "access_token"}
)


def redact_secrets(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    """Replace the value of any secret-looking key, whoever passed it."""
    for key in event.keys() & SECRET_KEYS:
        event[key] = "***"
    return event


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever `sys.stderr` is when a line is written.

    The stream of a plain StreamHandler is fixed when it is made; a process that
    swaps `sys.stderr` later (a test runner capturing output) would leave it
    writing to a closed file.
    """

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    """Configure structlog and the standard library once for the process."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]

    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    final: list[Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta
    ]
    if json_lines:
        final.append(structlog.processors.format_exc_info)
    final.append(renderer)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared, processors=final
    )

    handler = _StandardError()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())

    # Our middleware logs each request once, with its id; uvicorn's line would
    # repeat it without one.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("alembic.runtime.migration", "httpx", "procrastinate"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def bind_request(**values: Any) -> None:
    structlog.contextvars.bind_contextvars(**values)


def clear_request() -> None:
    structlog.contextvars.clear_contextvars()
