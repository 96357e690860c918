"""`devflowfix teams ...` against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from devflowfix.cli import app
from devflowfix.config import load_settings
from devflowfix.db import Database
from devflowfix.integrations.crypto import SecretBox
from devflowfix.models import TeamIntegration

runner = CliRunner()


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "cli.db"
    monkeypatch.setenv("DEVFLOWFIX_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("DEVFLOWFIX_SECRET_KEY", "cli-secret-" + "k" * 60)
    monkeypatch.setenv("DEVFLOWFIX_LOG_LEVEL", "WARNING")
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    return database


def stored_integration() -> TeamIntegration:
    database = Database.from_settings(load_settings())
    with database.transaction(write=False) as session:
        row = session.scalars(select(TeamIntegration)).one()
    database.dispose()
    return row


def test_every_teams_command_has_help() -> None:
    for command in (
        ["teams", "--help"],
        ["teams", "create", "--help"],
        ["teams", "integrations", "--help"],
        ["teams", "integrations", "set", "--help"],
        ["teams", "integrations", "show", "--help"],
        ["teams", "integrations", "reencrypt", "--help"],
        ["analysis", "--help"],
        ["analysis", "run", "--help"],
        ["analysis", "calibrate", "--help"],
    ):
        result = runner.invoke(app, command)

        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_set_stores_encrypted_and_show_masks(environment: Path) -> None:
    runner.invoke(app, ["teams", "create", "platform"])

    set_result = runner.invoke(
        app,
        [
            "teams",
            "integrations",
            "set",
            "platform",
            "gitlab",
            "--webhook-secret",
            "whsec-0123456789abcdef",
            "--base-url",
            "https://gitlab.acme.net",
        ],
    )
    show = runner.invoke(app, ["teams", "integrations", "show", "platform"])

    assert set_result.exit_code == 0, set_result.output
    assert "whsec" not in show.output
    assert "********" in show.output
    assert "https://gitlab.acme.net" in show.output
    row = stored_integration()
    box = SecretBox.from_settings(load_settings())
    assert box.decrypt(row.webhook_secret_encrypted or "") == "whsec-0123456789abcdef"


def test_a_generated_secret_is_printed_once_on_stdout(environment: Path) -> None:
    runner.invoke(app, ["teams", "create", "platform"])

    result = runner.invoke(
        app,
        [
            "teams",
            "integrations",
            "set",
            "platform",
            "github",
            "--generate-webhook-secret",
        ],
    )

    secret = result.stdout.strip().splitlines()[0]
    assert result.exit_code == 0
    assert len(secret) == 64
    box = SecretBox.from_settings(load_settings())
    assert box.decrypt(stored_integration().webhook_secret_encrypted or "") == secret


def test_an_unknown_team_is_an_error(environment: Path) -> None:
    result = runner.invoke(
        app, ["teams", "integrations", "set", "nobody", "github", "--token", "t"]
    )

    assert result.exit_code == 1
    assert "No team 'nobody'" in result.output


def test_reencrypt_moves_secrets_to_a_new_key(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.invoke(app, ["teams", "create", "platform"])
    runner.invoke(
        app,
        ["teams", "integrations", "set", "platform", "github", "--token", "ghp_1"],
    )
    old_key = load_settings().secret_key
    monkeypatch.setenv("DEVFLOWFIX_ENCRYPTION_KEY", "new-encryption-key-0123456789")
    monkeypatch.setenv("DEVFLOWFIX_ENCRYPTION_PREVIOUS_KEYS", old_key)

    result = runner.invoke(app, ["teams", "integrations", "reencrypt"])

    assert result.exit_code == 0, result.output
    token = stored_integration().token_encrypted or ""
    assert SecretBox("new-encryption-key-0123456789").decrypt(token) == "ghp_1"
