"""Alembic environment: runs against the connection or URL the caller gives."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from devflowfix.db.engine import create_db_engine
from devflowfix.db.migrate import include_name
from devflowfix.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Leaves out what the models do not describe (see include_name).
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return

    engine = create_db_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `devflowfix migrate`")
run_migrations_online()
