"""The jobs migrations (0003_jobs, 0009_pr_jobs): down and up again on each database."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from devflowfix.db import create_db_engine
from devflowfix.db.migrate import alembic_config, is_current, upgrade_to_head


def _tables(database_url: str) -> set[str]:
    engine = create_db_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    return tables


def test_the_jobs_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    engine = create_db_engine(database_url)
    config = alembic_config(database_url)
    postgres = engine.dialect.name == "postgresql"

    with engine.begin() as connection:
        config.attributes["connection"] = connection
        # Below the merge revision first, then the jobs branch alone.
        command.downgrade(config, "0003_jobs")
        command.downgrade(config, "0003_jobs@-1")
    after_downgrade = _tables(database_url)
    upgrade_to_head(engine)

    assert "jobs" in after_downgrade
    assert "procrastinate_jobs" not in after_downgrade
    assert ("procrastinate_jobs" in _tables(database_url)) is postgres
    assert is_current(engine)
    engine.dispose()


def _job_columns(database_url: str) -> set[str]:
    engine = create_db_engine(database_url)
    columns = {column["name"] for column in inspect(engine).get_columns("jobs")}
    engine.dispose()
    return columns


def test_the_commit_point_migration_downgrades_and_upgrades_again(
    database_url: str,
) -> None:
    engine = create_db_engine(database_url)
    config = alembic_config(database_url)

    with engine.begin() as connection:
        config.attributes["connection"] = connection
        # Down to the revision 0009_pr_jobs stands on (which takes the sibling
        # branches merged after it down too), then up to the head again.
        command.downgrade(config, "0007_merge")
    after_downgrade = _job_columns(database_url)
    upgrade_to_head(engine)

    assert "cancellable" not in after_downgrade
    assert "cancel_requested" in after_downgrade
    assert "cancellable" in _job_columns(database_url)
    assert is_current(engine)
    engine.dispose()
