"""`devflowfix teams ...`: teams and their CI integrations from the shell."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from devflowfix.auth import repository as auth_repository
from devflowfix.auth import service as auth_service
from devflowfix.config import ConfigurationError, Settings, load_settings
from devflowfix.db import Database
from devflowfix.errors import AppError, NotFound
from devflowfix.integrations import service
from devflowfix.integrations.crypto import SecretBox
from devflowfix.integrations.schemas import MASK, IntegrationUpdate
from devflowfix.logging import configure_logging
from devflowfix.models import Team

teams_app = typer.Typer(
    help="Manage teams and their CI integrations.", no_args_is_help=True
)
integrations_app = typer.Typer(
    help="Webhook secrets, provider tokens and base URLs of a team.",
    no_args_is_help=True,
)
teams_app.add_typer(integrations_app, name="integrations")
console = Console(stderr=True)
GENERATED_SECRET_BYTES = 32


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    # Log lines go to standard error: standard output carries generated secrets.
    configure_logging(json_lines=settings.json_logs, level=settings.log_level)
    return settings


def _team(session: Session, name: str) -> Team:
    team = auth_repository.find_team_by_name(session, name)
    if team is None:
        raise NotFound(f"No team {name!r}; create it with `devflowfix teams create`.")
    return team


def _fail(error: AppError) -> typer.Exit:
    console.print(f"[red]Error:[/red] {error.message}")
    return typer.Exit(1)


@teams_app.command("create")
def create_team(
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits, - or _.")],
) -> None:
    """Create a team (nothing happens when it exists)."""
    database = Database.from_settings(_settings())
    try:
        with database.transaction() as session:
            auth_service.ensure_team(session, name)
    except AppError as error:
        raise _fail(error) from error
    finally:
        database.dispose()

    console.print(f"Team {name} is ready.")


@integrations_app.command("set")
def set_integration(
    team: Annotated[str, typer.Argument(help="The team's name.")],
    provider: Annotated[str, typer.Argument(help="github, gitlab or jenkins.")],
    # TODO: values given on the command line show in the process list and the
    # shell history; only --generate-webhook-secret and the API avoid that.
    webhook_secret: Annotated[
        str | None, typer.Option(help="The webhook secret (16+ characters).")
    ] = None,
    generate_webhook_secret: Annotated[
        bool,
        typer.Option(help="Generate a random webhook secret and print it once."),
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(help="API token for log fetches; Jenkins: user:api-token."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="The provider's API base URL.")
    ] = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(help="Clear a setting: webhook_secret, token or base_url."),
    ] = None,
) -> None:
    """Set a team's webhook secret, token or base URL for a provider."""
    values: dict[str, str | None] = {name: None for name in clear or ()}
    if generate_webhook_secret:
        webhook_secret = secrets.token_hex(GENERATED_SECRET_BYTES)

    for name, value in (
        ("webhook_secret", webhook_secret),
        ("token", token),
        ("base_url", base_url),
    ):
        if value is not None:
            values[name] = value

    settings = _settings()
    database = Database.from_settings(settings)
    try:
        data = IntegrationUpdate.model_validate(values)
        with database.transaction() as session:
            service.set_integration(
                session,
                _team(session, team).id,
                service.provider_named(provider),
                data,
                SecretBox.from_settings(settings),
            )
    except AppError as error:
        raise _fail(error) from error
    except ValueError as error:
        console.print(f"[red]Invalid value:[/red] {error}")
        raise typer.Exit(1) from error
    finally:
        database.dispose()

    if generate_webhook_secret and webhook_secret:
        sys.stdout.write(webhook_secret + "\n")
    console.print(f"Updated {provider} for team {team}: {', '.join(sorted(values))}.")


@integrations_app.command("show")
def show_integrations(
    team: Annotated[str, typer.Argument(help="The team's name.")],
) -> None:
    """Show a team's settings for every provider, secrets masked."""
    database = Database.from_settings(_settings())
    try:
        with database.transaction(write=False) as session:
            states = service.list_integrations(session, _team(session, team).id)
    except AppError as error:
        raise _fail(error) from error
    finally:
        database.dispose()

    table = Table(title=f"Integrations of team {team}")
    for column in ("provider", "webhook secret", "token", "base URL", "API"):
        table.add_column(column)

    for state in states:
        row = state.integration
        table.add_row(
            state.provider.value,
            MASK if row and row.webhook_secret_encrypted else "-",
            MASK if row and row.token_encrypted else "-",
            state.base_url or "-",
            state.api_url or "-",
        )

    Console(width=160).print(table)


@integrations_app.command("reencrypt")
def reencrypt_secrets() -> None:
    """Encrypt every stored secret with the current key (after a key rotation)."""
    settings = _settings()
    database = Database.from_settings(settings)
    try:
        with database.transaction() as session:
            count = service.reencrypt_secrets(
                session, SecretBox.from_settings(settings)
            )
    except AppError as error:
        raise _fail(error) from error
    finally:
        database.dispose()

    console.print(f"Re-encrypted the secrets of {count} integrations.")
