"""Database engine, sessions and the SQLite connection rules."""

from devflowfix.db import hints as _hints  # noqa: F401 - installs the SQLite hook
from devflowfix.db.engine import create_db_engine, dialect_name
from devflowfix.db.session import Database, after_commit

__all__ = ["Database", "after_commit", "create_db_engine", "dialect_name"]
