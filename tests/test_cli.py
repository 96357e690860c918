"""The `devflowfix` command line, run against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from devflowfix.cli import app

runner = CliRunner()


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "cli.db"
    monkeypatch.setenv("DEVFLOWFIX_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("DEVFLOWFIX_SECRET_KEY", "cli-secret-" + "k" * 60)
    monkeypatch.setenv("DEVFLOWFIX_LOG_LEVEL", "WARNING")
    return database


def test_every_command_has_help() -> None:
    for command in (
        ["--help"],
        ["serve", "--help"],
        ["worker", "--help"],
        ["migrate", "--help"],
        ["users", "create", "--help"],
        ["token", "--help"],
        ["demo", "--help"],
    ):
        result = runner.invoke(app, command)

        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_migrate_creates_the_schema(environment: Path) -> None:
    result = runner.invoke(app, ["migrate"])

    assert result.exit_code == 0, result.output
    assert environment.exists()
    assert "up to date" in result.output


def test_users_create_then_token_prints_only_the_token(environment: Path) -> None:
    runner.invoke(app, ["migrate"])

    created = runner.invoke(
        app,
        [
            "users",
            "create",
            "ops@example.com",
            "--password",
            "s3cret-pass",
            "--role",
            "admin",
            "--team",
            "ops",
        ],
    )
    issued = runner.invoke(app, ["token", "ops@example.com", "--expires-in", "600"])

    assert created.exit_code == 0, created.output
    assert "ops@example.com (admin) in team ops" in created.output
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert "\n" not in token
    claims = jwt.decode(token, "cli-secret-" + "k" * 60, ["HS256"], issuer="devflowfix")
    assert claims["exp"] - claims["iat"] == 600


def test_users_create_refuses_a_duplicate_email(environment: Path) -> None:
    runner.invoke(app, ["migrate"])
    arguments = ["users", "create", "a@example.com", "--password", "long-enough"]
    runner.invoke(app, arguments)

    again = runner.invoke(app, arguments)

    assert again.exit_code == 1
    assert "already exists" in again.output


def test_users_create_refuses_a_short_password(environment: Path) -> None:
    runner.invoke(app, ["migrate"])

    result = runner.invoke(
        app, ["users", "create", "a@example.com", "--password", "short"]
    )

    assert result.exit_code == 1
    assert "at least 8 characters" in result.output


def test_token_for_unknown_user_fails(environment: Path) -> None:
    runner.invoke(app, ["migrate"])

    result = runner.invoke(app, ["token", "ghost@example.com"])

    assert result.exit_code == 1
    assert result.stdout == ""


def test_production_with_default_secret_refuses_to_start(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEVFLOWFIX_SECRET_KEY")
    monkeypatch.setenv("DEVFLOWFIX_ENV", "production")

    result = runner.invoke(app, ["serve"])

    assert result.exit_code == 2
    assert "DEVFLOWFIX_SECRET_KEY" in result.output


def test_worker_refuses_a_database_that_is_not_migrated(environment: Path) -> None:
    result = runner.invoke(app, ["worker"])

    assert result.exit_code == 1
    assert "run `devflowfix migrate` first" in result.output
