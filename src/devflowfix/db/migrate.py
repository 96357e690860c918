"""Schema migrations with Alembic, run from code by `migrate` and `serve`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# Schema objects the ORM models do not describe, created by migrations only:
# Procrastinate's queue tables on PostgreSQL (its own SQL, migration 0003_jobs),
# the SQLite FTS5 table with its shadow tables, PostgreSQL's trigger-filled
# tsvector column with its GIN index, SQLite's narrow id index and generated
# column of the facets (0014, 0015), and the table where a bulk load keeps the
# definitions of what it set aside (search.maintenance, raw SQL only).
# Comparisons of models and schema skip them.
UNMAPPED_TABLE_PREFIXES = ("incidents_fts", "procrastinate_", "search_set_aside")
UNMAPPED_NAMES: dict[str, frozenset[str]] = {
    "column": frozenset({"search_vector", "search_facets"}),
    "index": frozenset({"ix_incidents_search_vector", "ix_incidents_search_facets"}),
}


def include_name(name: str | None, kind: str, parent_names: object) -> bool:
    """Alembic's `include_name` hook: False for the objects listed above."""
    if name is None:
        return True
    if kind == "table":
        return not name.startswith(UNMAPPED_TABLE_PREFIXES)
    return name not in UNMAPPED_NAMES.get(kind, frozenset())


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Upgrade the schema to the newest revision of every branch."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision of every branch."""
    script = ScriptDirectory.from_config(
        alembic_config(engine.url.render_as_string(hide_password=False))
    )
    with engine.connect() as connection:
        heads = set(MigrationContext.configure(connection).get_current_heads())
    return heads == set(script.get_heads())
