"""The database handle shared by the app, the CLI and the job runners."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from devflowfix.config import Settings
from devflowfix.db.engine import IMMEDIATE, create_db_engine


class Database:
    """An engine with two session factories: one for readers, one for writers.

    On SQLite a writer's transaction takes the write lock when it begins; on
    PostgreSQL both factories are the same.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._readers = sessionmaker(engine, expire_on_commit=False)
        writer_bind = (
            engine.execution_options(**{IMMEDIATE: True}) if self.is_sqlite else engine
        )
        self._writers = sessionmaker(writer_bind, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(
            create_db_engine(
                settings.database_url,
                pool_size=settings.db_pool_size,
                busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                sqlite_cache_mb=settings.sqlite_cache_mb,
            )
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def session(self, *, write: bool = False) -> Session:
        """A new session; the caller commits or rolls back."""
        return (self._writers if write else self._readers)()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on error."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> None:
        """Raise unless the database answers a trivial query."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction has committed.

    For work outside the database that must not happen when the transaction
    rolls back: removing files, waking a job runner. A rollback disarms it.
    """
    armed = True

    def run(_session: Session) -> None:
        nonlocal armed
        if armed:
            armed = False
            callback()

    def disarm(_session: Session, _previous: object) -> None:
        nonlocal armed
        armed = False

    event.listen(session, "after_commit", run, once=True)
    event.listen(session, "after_soft_rollback", disarm, once=True)
