"""Secrets at rest: encryption, derived keys, rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from devflowfix.config import Settings
from devflowfix.integrations.crypto import SecretBox, SecretUnreadable, fernet_key


def test_a_secret_round_trips_and_is_not_stored_in_clear() -> None:
    box = SecretBox("a-long-random-secret-key-for-tests")

    token = box.encrypt("whsec-0123456789abcdef")

    assert "whsec" not in token
    assert box.decrypt(token) == "whsec-0123456789abcdef"


def test_a_fernet_key_is_used_as_it_is_and_other_strings_are_derived() -> None:
    key = Fernet.generate_key().decode()

    assert fernet_key(key) == key.encode()
    assert fernet_key("not a fernet key") != fernet_key("not a fernet key either")
    assert len(fernet_key("anything")) == 44


def test_another_key_cannot_read_the_secret() -> None:
    token = SecretBox("first-key-0123456789").encrypt("s3cret-value-123456")

    with pytest.raises(SecretUnreadable):
        SecretBox("second-key-0123456789").decrypt(token)


def test_a_previous_key_still_decrypts_and_reencrypt_moves_to_the_current() -> None:
    old = SecretBox("old-key-0123456789").encrypt("s3cret-value-123456")
    rotated = SecretBox("new-key-0123456789", ["old-key-0123456789"])

    moved = rotated.reencrypt(old)

    assert rotated.decrypt(old) == "s3cret-value-123456"
    assert SecretBox("new-key-0123456789").decrypt(moved) == "s3cret-value-123456"


def test_settings_choose_the_encryption_key_over_the_secret_key() -> None:
    settings = Settings(
        secret_key="s" * 40,
        encryption_key="e" * 40,
        encryption_previous_keys=" p1-0123456789 , p2-0123456789 ",
    )
    stored = SecretBox("p2-0123456789").encrypt("value-0123456789")

    box = SecretBox.from_settings(settings)

    assert SecretBox("e" * 40).decrypt(box.encrypt("x" * 20)) == "x" * 20
    assert box.decrypt(stored) == "value-0123456789"
