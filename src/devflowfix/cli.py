"""The `devflowfix` command: serve, migrate, users, tokens and demo data."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from devflowfix.analysis.cli import analysis_app
from devflowfix.auth import service as auth_service
from devflowfix.auth.tokens import issue_token
from devflowfix.config import ConfigurationError, Settings, load_settings
from devflowfix.db import Database
from devflowfix.db.migrate import is_current, upgrade_to_head
from devflowfix.errors import AppError
from devflowfix.integrations.cli import teams_app
from devflowfix.search.maintenance import restore_set_aside
from devflowfix.vocabulary import Role

app = typer.Typer(
    help="DevFlowFix: CI/CD failure incidents, analysed, searchable and exportable.",
    no_args_is_help=True,
    add_completion=False,
)
users_app = typer.Typer(help="Manage users and their teams.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(analysis_app, name="analysis")
app.add_typer(teams_app, name="teams")

console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _fail(error: AppError) -> typer.Exit:
    console.print(f"[red]Error:[/red] {error.message}")
    return typer.Exit(1)


def _migrate(database: Database) -> None:
    """Upgrade the schema and put back what a killed bulk load left set aside."""
    upgrade_to_head(database.engine)
    restore_set_aside(database.engine)


@app.command()
def migrate() -> None:
    """Upgrade the database schema; put back what a killed bulk load set aside."""
    settings = _settings()
    database = Database.from_settings(settings)
    try:
        _migrate(database)
    finally:
        database.dispose()

    console.print(
        f"Database at {database.engine.url.render_as_string()} is up to date."
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Migrate the database, then serve the API (and, on SQLite, run jobs)."""
    import uvicorn

    from devflowfix.app import create_app

    settings = _settings()
    database = Database.from_settings(settings)
    _migrate(database)
    application = create_app(settings, database=database)
    uvicorn.run(application, host=host, port=port, access_log=False, log_config=None)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            help="Jobs to run at the same time (default: DEVFLOWFIX_JOB_WORKERS).",
            min=1,
            max=64,
        ),
    ] = None,
    listen: Annotated[
        bool,
        typer.Option(
            help="PostgreSQL: be woken by notifications of new jobs. --no-listen "
            "polls instead, for connection poolers that do not pass LISTEN on.",
        ),
    ] = True,
) -> None:
    """Run background jobs: Procrastinate workers on PostgreSQL, the embedded
    runner on SQLite. Stop with Ctrl-C or SIGTERM; start as many as you like."""
    from devflowfix.jobs.workers import run_worker

    settings = _settings()
    database = Database.from_settings(settings)
    try:
        if not is_current(database.engine):
            console.print(
                "[red]Error:[/red] the database schema is not current; run "
                "`devflowfix migrate` first."
            )
            raise typer.Exit(1)

        run_worker(database, settings, concurrency=concurrency, listen=listen)
    finally:
        database.dispose()


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Argument(help="The user's email; it signs them in.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="At least 8 characters.")
    ],
    role: Annotated[Role, typer.Option(help="What the user may do.")] = Role.MEMBER,
    team: Annotated[
        str, typer.Option(help="The user's team; created when it does not exist.")
    ] = "default",
) -> None:
    """Create a user in a team."""
    database = Database.from_settings(_settings())
    try:
        with database.transaction() as session:
            user = auth_service.create_user(
                session, email=email, password=password, role=role, team_name=team
            )
            summary = f"Created {user.email} ({user.role}) in team {team}."
    except AppError as error:
        raise _fail(error) from error
    finally:
        database.dispose()

    console.print(summary)


@app.command()
def token(
    email: Annotated[str, typer.Argument(help="The user to issue the token for.")],
    expires_in: Annotated[
        int | None,
        typer.Option(help="Lifetime in seconds (default: the configured one).", min=60),
    ] = None,
) -> None:
    """Print a bearer token for a user, alone on standard output."""
    settings = _settings()
    database = Database.from_settings(settings)
    try:
        with database.transaction(write=False) as session:
            user = auth_service.find_user(session, email)
    finally:
        database.dispose()

    if user is None:
        console.print(f"[red]Error:[/red] no user {email}.")
        raise typer.Exit(1)

    sys.stdout.write(
        issue_token(user.public_id, settings, expires_in=expires_in) + "\n"
    )


@app.command()
def demo(
    incidents: Annotated[
        int, typer.Option(help="How many incidents to load.", min=0, max=10_000_000)
    ] = 500,
    team: Annotated[str, typer.Option(help="The demo team.")] = "demo",
    email: Annotated[str, typer.Option(help="The demo admin's email.")] = (
        "demo@example.com"
    ),
    seed: Annotated[int, typer.Option(help="Random seed, for repeatable data.")] = 7,
    if_empty: Annotated[
        bool, typer.Option(help="Load nothing when the database has incidents.")
    ] = False,
) -> None:
    """Load realistic demo incidents and a demo admin, then print how to sign in."""
    from devflowfix.demo.loader import load_demo

    settings = _settings()
    database = Database.from_settings(settings)
    try:
        upgrade_to_head(database.engine)
        report = load_demo(
            database,
            incidents=incidents,
            team_name=team,
            email=email,
            seed=seed,
            if_empty=if_empty,
        )
    except AppError as error:
        raise _fail(error) from error
    finally:
        database.dispose()

    console.print(report.describe())


def main() -> None:
    app()
