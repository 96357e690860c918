"""Database engine, sessions and the SQLite connection rules."""

from devflowfix.db.engine import create_db_engine, dialect_name
from devflowfix.db.session import Database, after_commit

__all__ = ["Database", "after_commit", "create_db_engine", "dialect_name"]
