"""Search cursors: opaque, signed tokens that carry a search and a position in it.

A cursor holds everything its page needs: the filters as the client set them,
the order, the page size, the moment date presets were resolved at, the page
number, the direction and the sort key of the incident next to the page. It is
compressed JSON in URL-safe base64 with an HMAC-SHA256 tag made with the
service's secret key, so clients cannot change the filters or the position
without the tag failing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from devflowfix.errors import ValidationFailed
from devflowfix.search.schemas import IncidentFilters, SortField, SortOrder

VERSION = 1
TAG_BYTES = 16
_PURPOSE = b"devflowfix.search.cursor.v1"

Direction = Literal["next", "previous"]
# The sort key of one incident: (segment, value, id); see search.ordering.
SortKey = tuple[int, Any, int]


@dataclass(frozen=True, slots=True)
class Cursor:
    filters: IncidentFilters
    sort_by: SortField
    sort_order: SortOrder
    page_size: int
    highlight: bool
    include_facets: bool
    resolved_at: datetime
    page: int
    direction: Direction
    key: SortKey


def _signing_key(secret_key: str) -> bytes:
    # A key of its own, so a cursor tag can never pass for any other signature.
    return hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()


def _tag(body: bytes, secret_key: str) -> bytes:
    return hmac.new(_signing_key(secret_key), body, hashlib.sha256).digest()[:TAG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(cursor: Cursor, secret_key: str) -> str:
    """The token for `cursor`, signed with `secret_key`."""
    payload = {
        "v": VERSION,
        "f": cursor.filters.applied(),
        "s": cursor.sort_by.value,
        "o": cursor.sort_order.value,
        "n": cursor.page_size,
        "h": cursor.highlight,
        "x": cursor.include_facets,
        "t": cursor.resolved_at.isoformat(),
        "p": cursor.page,
        "d": cursor.direction,
        "k": list(cursor.key),
    }
    body = zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 6)

    return f"{_b64(body)}.{_b64(_tag(body, secret_key))}"


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed.for_field(
        "cursor",
        "The cursor is not one this service issued, or it was changed; start "
        "again from the first page.",
        kind="cursor_invalid",
    )


def decode_cursor(token: str, secret_key: str) -> Cursor:
    """The cursor in `token`; a token that was not signed here is a 422."""
    body_text, _, tag_text = token.partition(".")
    try:
        body, tag = _unb64(body_text), _unb64(tag_text)
    except (binascii.Error, ValueError) as exc:
        raise invalid_cursor() from exc
    if not hmac.compare_digest(tag, _tag(body, secret_key)):
        raise invalid_cursor()

    try:
        payload = json.loads(zlib.decompress(body))
        return _cursor_of(payload)
    except (zlib.error, ValueError, KeyError, TypeError, ValidationError) as exc:
        # Signed by us but unreadable: a cursor of an older, incompatible version.
        raise invalid_cursor() from exc


def _cursor_of(payload: dict[str, Any]) -> Cursor:
    if payload["v"] != VERSION:
        raise ValueError("unknown cursor version")

    segment, value, incident_id = payload["k"]
    direction = payload["d"]
    if direction not in ("next", "previous"):
        raise ValueError("unknown direction")

    return Cursor(
        filters=IncidentFilters.model_validate(payload["f"]),
        sort_by=SortField(payload["s"]),
        sort_order=SortOrder(payload["o"]),
        page_size=int(payload["n"]),
        highlight=bool(payload["h"]),
        include_facets=bool(payload["x"]),
        resolved_at=datetime.fromisoformat(payload["t"]),
        page=int(payload["p"]),
        direction=direction,
        key=(int(segment), value, int(incident_id)),
    )
