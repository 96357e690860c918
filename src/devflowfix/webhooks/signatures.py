"""Webhook authenticity, compared in constant time.

GitHub signs the raw body with HMAC-SHA256 (`X-Hub-Signature-256:
sha256=<hex>`); Jenkins senders use the same scheme in
`X-Jenkins-Signature-256`. GitLab sends the shared secret itself in
`X-Gitlab-Token`.
"""

from __future__ import annotations

import hashlib
import hmac

from devflowfix.errors import Unauthorized

PREFIX = "sha256="


def body_signature(secret: str, body: bytes) -> str:
    """The `sha256=<hex>` signature of `body` under `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def check_body_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise `Unauthorized` unless `header` is the body's signature."""
    expected = body_signature(secret, body).encode("ascii")
    given = (header or "").strip().encode("utf-8", errors="replace")
    if not hmac.compare_digest(expected, given):
        raise Unauthorized("The webhook signature is missing or wrong.")


def check_shared_token(secret: str, header: str | None) -> None:
    """Raise `Unauthorized` unless `header` is the shared secret."""
    given = (header or "").encode("utf-8", errors="replace")
    if not hmac.compare_digest(secret.encode("utf-8"), given):
        raise Unauthorized("The webhook token is missing or wrong.")
