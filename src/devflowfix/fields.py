"""Field types shared by request schemas, each visible in the OpenAPI document."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

MAX_TAGS = 32
_NUMBER = re.compile(r"[-+]?\d*\.?\d*(?:[eE][-+]?\d+)?")


def _text_or_datetime(value: Any) -> Any:
    # Pydantic would also take a number as a Unix time; the documented type is
    # an ISO 8601 string, and a stray number is more likely a client bug. In a
    # query string every value is text, so digits alone are refused too.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and not _NUMBER.fullmatch(value.strip()):
        return value
    raise ValueError("give an ISO 8601 date-time string")


def _as_utc(value: datetime) -> datetime:
    # A datetime without an offset is read as UTC, the service's only timezone.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)

    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+01:00 is a valid ISO 8601 string but no UTC instant.
        raise ValueError("the date-time is out of range once moved to UTC") from None


def trimmed(value: str) -> str:
    """The text without surrounding whitespace; blank text is refused.

    Used after the length constraints rather than `strip_whitespace`, so that the
    published schema judges the text as sent: stripping first would accept text
    longer than the schema's maximum.
    """
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be blank")
    return stripped


def _normal_tag(tag: str) -> str:
    return tag.strip().lower()


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


UTCDatetime = Annotated[
    datetime, BeforeValidator(_text_or_datetime), AfterValidator(_as_utc)
]
Tag = Annotated[
    str,
    # The pattern and the length judge the tag as sent, surrounding whitespace
    # included, so the published schema and the service agree on what is valid.
    StringConstraints(
        min_length=1, max_length=64, pattern=r"^\s*[A-Za-z0-9_.:/+#@-]+\s*$"
    ),
    AfterValidator(_normal_tag),
]
Tags = Annotated[
    list[Tag],
    Field(
        max_length=MAX_TAGS,
        description="Lower-cased, duplicates dropped; letters, digits, . : / + # @ - _",
    ),
    AfterValidator(_unique),
]
