"""Secrets at rest: Fernet encryption with keys derived from the configuration.

The key is `DEVFLOWFIX_ENCRYPTION_KEY` when set, else derived from
`DEVFLOWFIX_SECRET_KEY`. A Fernet key (32 url-safe base64 bytes) is used as it
is; any other string goes through HKDF-SHA256 first. Keys listed in
`DEVFLOWFIX_ENCRYPTION_PREVIOUS_KEYS` (comma-separated) still decrypt, so keys
can be rotated: set the new key, keep the old one in the previous keys, run
`devflowfix teams integrations reencrypt`, then drop the old key.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from devflowfix.config import Settings
from devflowfix.errors import AppError

HKDF_INFO = b"devflowfix integration secrets v1"


class SecretUnreadable(AppError):
    """A stored secret does not decrypt with any configured key."""

    status_code = 503
    code = "service_unavailable"
    default_message = (
        "A stored integration secret cannot be decrypted with the configured "
        "keys; an administrator must set it again or restore the key."
    )


def fernet_key(material: str) -> bytes:
    """A Fernet key from `material`: itself if it is one, else derived by HKDF."""
    try:
        raw = base64.urlsafe_b64decode(material.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) == 32 and len(material) == 44:
        return material.encode("ascii")

    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO
    ).derive(material.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


class SecretBox:
    """Encrypts with the current key; decrypts with the current or a previous one."""

    def __init__(self, current: str, previous: list[str] | None = None) -> None:
        keys = [current, *(previous or [])]
        self._fernet = MultiFernet([Fernet(fernet_key(key)) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        previous = [
            key.strip()
            for key in settings.encryption_previous_keys.split(",")
            if key.strip()
        ]
        return cls(settings.encryption_key or settings.secret_key, previous)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable() from exc

    def reencrypt(self, token: str) -> str:
        """The same secret, encrypted with the current key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise SecretUnreadable() from exc
