"""Path parameters for public ids, matched at the level of routing.

A public id is a prefix and 12 hex digits (`inc_1f2e3d4c5b6a`). Declaring that
as a route convertor keeps fixed paths beside an id route, such as
/api/v1/incidents/search or /api/v1/jobs/active, routes of their own instead
of ids that a handler has to turn away, and the OpenAPI document says so.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from starlette.convertors import Convertor, register_url_convertor


class PublicIdConvertor(Convertor[str]):
    """Passes a matched id through; subclasses set `regex` for their prefix."""

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def _public_id(name: str, prefix: str, example: str) -> object:
    pattern = f"{prefix}_[0-9a-f]{{12}}"
    # Starlette reads `regex` from the class, so each prefix gets a subclass.
    convertor_class = type(
        f"{prefix.title()}IdConvertor", (PublicIdConvertor,), {"regex": pattern}
    )
    register_url_convertor(name, convertor_class())
    return Path(pattern=f"^{pattern}$", examples=[example])


# Use as `/{incident_id:incident_id}` in the route path and `IncidentId` in the
# signature; the same for jobs and users.
IncidentId = Annotated[str, _public_id("incident_id", "inc", "inc_1f2e3d4c5b6a")]
JobId = Annotated[str, _public_id("job_id", "job", "job_abc123def456")]
UserId = Annotated[str, _public_id("user_id", "usr", "usr_8736b06c6458")]
