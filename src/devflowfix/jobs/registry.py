"""The job types this server can run, and how a feature plugs one in.

A feature defines its parameters as a Pydantic model and a handler, and
registers them when its `tasks` module is imported:

    register_job_type(
        JobType(
            name="export_csv",
            parameters=ExportParameters,
            handler=export_csv,
            role=Role.VIEWER,
        )
    )

The handler is called as `handler(context, parameters)` with a
`devflowfix.jobs.context.JobContext` and the validated parameters, and returns
the job's `result` (a JSON object) or None. Handlers never import an engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from devflowfix.config import Settings
from devflowfix.errors import ValidationFailed
from devflowfix.models import User
from devflowfix.vocabulary import Role

if TYPE_CHECKING:
    from devflowfix.jobs.context import JobContext

ParametersT = TypeVar("ParametersT", bound=BaseModel)

# The job types of the API contract. A server knows all of them; it can run
# those whose feature has registered a handler.
SPEC_JOB_TYPES = (
    "incident_analysis",
    "incident_reanalysis",
    "export_csv",
    "export_pdf",
    "bulk_update",
    "bulk_delete",
    "pr_creation",
)

# The modules whose import registers handlers; every process that runs or
# enqueues jobs imports them through `load_job_types`.
HANDLER_MODULES = (
    "devflowfix.bulk.tasks",
    "devflowfix.analysis.tasks",
    "devflowfix.pullrequests.tasks",
    "devflowfix.exports.tasks",
)


@dataclass(frozen=True)
class JobType(Generic[ParametersT]):
    """A kind of background job: its parameters, its handler and who may run it.

    `validate`, when given, runs at `POST /api/v1/jobs` inside the request's
    transaction, so parameters can be checked against the database (say, that
    the incidents exist in the user's team); it raises `AppError`s.
    `validation_context`, when given, builds the Pydantic validation context
    of the parameters from the settings of the process that validates them
    (the API at enqueue, the worker before it runs the handler).
    `max_attempts` overrides `DEVFLOWFIX_JOB_MAX_ATTEMPTS` for this type.
    """

    name: str
    parameters: type[ParametersT]
    handler: Callable[[JobContext, ParametersT], dict[str, Any] | None]
    role: Role = Role.MEMBER
    validate: Callable[[Session, User, ParametersT], None] | None = None
    validation_context: Callable[[Settings], dict[str, Any]] | None = None
    description: str = ""
    max_attempts: int | None = None

    def parse_parameters(
        self, raw: Mapping[str, Any], settings: Settings
    ) -> ParametersT:
        """The validated parameters; Pydantic's ValidationError when they are bad."""
        context = self.validation_context(settings) if self.validation_context else None
        return self.parameters.model_validate(dict(raw), context=context)


_registered: dict[str, JobType[Any]] = {}


def register_job_type(job_type: JobType[ParametersT]) -> JobType[ParametersT]:
    """Make `job_type` runnable on this server; its name must be new."""
    existing = _registered.get(job_type.name)
    if existing is not None and existing is not job_type:
        raise ValueError(f"job type {job_type.name!r} is already registered")
    _registered[job_type.name] = job_type
    return job_type


def unregister_job_type(name: str) -> None:
    """Forget a registered job type (tests register types of their own)."""
    _registered.pop(name, None)


def load_job_types() -> None:
    """Import every module that registers job types (again: a no-op)."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)


def known_job_types() -> list[str]:
    """Every job type name a request may use, runnable here or not."""
    load_job_types()
    return sorted({*SPEC_JOB_TYPES, *_registered})


def find_job_type(name: str) -> JobType[Any]:
    """The registered job type `name`, else a 422 that says why."""
    load_job_types()
    job_type = _registered.get(name)
    if job_type is not None:
        return job_type

    if name in SPEC_JOB_TYPES:
        raise ValidationFailed.for_field(
            "job_type", f"job type {name} is not available on this server"
        )

    raise ValidationFailed.for_field(
        "job_type",
        f"unknown job type {name!r}; use one of {', '.join(SPEC_JOB_TYPES)}",
        kind="enum",
    )
