"""Search plans: however a text search is planned, it finds the same incidents."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from conftest import make_settings
from devflowfix.app import create_app
from devflowfix.db import Database
from devflowfix.models import User
from devflowfix.search import density, repository
from devflowfix.search.fulltext import compile_query
from devflowfix.search.schemas import IncidentFilters, SortField, SortOrder
from factories import auth_headers, make_incidents, make_user

SEARCH = "/api/v1/incidents/search"


@pytest.fixture
def member(database: Database) -> User:
    return make_user(database)


def _analyse(database: Database) -> None:
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE incidents")
        )


def _only_postgres(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("the estimate and its plans are PostgreSQL's")


def test_probe_measures_the_share_of_a_phrase_among_the_newest(
    database: Database, member: User
) -> None:
    _only_postgres(database)
    make_incidents(database, member, 7, error_message="All green, exit 0")
    make_incidents(
        database, member, 3, error_message="Process completed with exit code 137"
    )
    _analyse(database)
    density._statistics.clear()

    with database.transaction(write=False) as session:
        phrase = density.estimate_matches(session, compile_query('"exit code 137"'), 0)
        word = density.estimate_matches(session, compile_query("green"), 0)

    assert phrase == density.MatchEstimate(matches=pytest.approx(3.0), share=0.3)
    assert word.share == pytest.approx(0.7)
    assert word.matches == pytest.approx(7.0)


def test_statistics_decide_when_they_bound_the_query_below_the_threshold(
    database: Database, member: User
) -> None:
    _only_postgres(database)
    make_incidents(database, member, 10, error_message="All green, exit 0")
    _analyse(database)
    density._statistics.clear()

    with database.transaction(write=False) as session:
        estimate = density.estimate_matches(
            session, compile_query('"exit code 137" zzyzx'), 5_000
        )

    assert estimate == density.MatchEstimate(matches=0.0, share=0.0)


def _plan(
    session: Any, member: User, query: str, *, sort_by: SortField
) -> repository.SearchPlan:
    filters = IncidentFilters(search_query=query)
    now = datetime.now(UTC)
    conditions = repository.search_conditions(
        session, filters, member.team_id, now=now, sort_by=sort_by
    )
    return repository.plan_search(
        session,
        conditions,
        compile_query(query),
        sort_by=sort_by,
        sort_order=SortOrder.DESC,
        broad_limit=0,
        relevance_limit=10,
    )


@pytest.mark.parametrize("query", ['"exit code 137"', "quiet", "exit"])
def test_broad_count_is_the_same_walked_or_from_the_index(
    database: Database, member: User, query: str
) -> None:
    _only_postgres(database)
    make_incidents(database, member, 4, error_message="Process: exit code 137")
    make_incidents(database, member, 6, error_message="quiet run, exit 0")

    counts = []
    for settings in (repository._BROAD_SETTINGS, repository._INDEX_COUNT_SETTINGS):
        with database.transaction(write=False) as session:
            plan = _plan(session, member, query, sort_by=SortField.CREATED_AT)
            plan = dataclasses.replace(plan, count_settings=settings)
            counts.append(repository.count_matches(session, plan, cap=100))

    expected = {'"exit code 137"': 4, "quiet": 6, "exit": 10}[query]
    assert counts == [expected, expected]


def _all_pages(
    client: TestClient, headers: dict[str, str], body: dict[str, Any]
) -> Any:
    pages = [client.post(SEARCH, json=body, headers=headers).json()]
    while pages[-1]["pagination"]["has_next"]:
        cursor = pages[-1]["pagination"]["next_cursor"]
        pages.append(
            client.post(SEARCH, json={"cursor": cursor}, headers=headers).json()
        )
    return pages


@pytest.mark.parametrize("broad_matches", [5_000, 0], ids=["narrow", "broad"])
def test_relevance_ranks_the_newest_matches_however_far_back_they_lie(
    database: Database, member: User, tmp_path: Path, broad_matches: int
) -> None:
    # 12 matches among 100 incidents, the oldest 9 of them before 80 others:
    # a broad ranking of the newest 10 must look past the newest 80 ids.
    old = make_incidents(database, member, 9, error_message="exit code 137 again")
    make_incidents(database, member, 80, error_message="quiet run")
    new = make_incidents(database, member, 3, error_message="exit code 137 now")
    make_incidents(database, member, 8, error_message="quiet run")
    url = database.engine.url.render_as_string(hide_password=False)
    settings = make_settings(
        url,
        tmp_path,
        search_count_limit=10,
        search_broad_matches=broad_matches,
    )
    headers = auth_headers(member, settings)
    body = {"search_query": '"exit code 137"', "sort_by": "relevance"}

    with TestClient(create_app(settings, database=database)) as client:
        pages = _all_pages(client, headers, {**body, "page_size": 4})
        public_ids = _public_ids(database, [*old, *new])

    found = [hit["incident_id"] for page in pages for hit in page["incidents"]]
    ranked = public_ids[2:] if broad_matches == 0 else public_ids
    assert sorted(found) == sorted(ranked)
    assert pages[0]["pagination"]["total_items"] == 10
    assert pages[0]["pagination"]["total_items_relation"] == "gte"


def _public_ids(database: Database, incident_ids: list[int]) -> list[str]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, public_id FROM incidents ORDER BY id")
        ).all()
    by_id = dict(rows)
    return [by_id[incident_id] for incident_id in sorted(incident_ids)]
