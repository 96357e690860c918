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
from devflowfix.search import density, pages, repository
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
    make_incidents(database, member, 9, error_message="All green, exit 0")
    make_incidents(database, member, 1, error_message="Flaky runner")
    _analyse(database)
    density._statistics.clear()

    with database.transaction(write=False) as session:
        estimate = density.estimate_matches(
            session, compile_query('"exit code 137" zzyzx'), 5_000
        )

    # Unlisted words are at most as common as the rarest listed one, `flaky`.
    assert estimate == density.MatchEstimate(
        matches=pytest.approx(1.0), share=pytest.approx(0.1)
    )


def test_a_plain_word_missing_from_the_statistics_is_probed(
    database: Database, member: User
) -> None:
    # With a statistics target of 1, ANALYZE lists ten words, every one of
    # them more common than `eresolve`, which is in one incident of five.
    _only_postgres(database)
    common = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo"
    make_incidents(database, member, 80, error_message=common)
    make_incidents(database, member, 20, error_message="npm ERESOLVE")
    _set_statistics_target(database, 1)
    try:
        _analyse(database)
        density._statistics.clear()
        with database.transaction(write=False) as session:
            listed = density._term_statistics(session).shares
            estimate = density.estimate_matches(session, compile_query("ERESOLVE"), 10)
    finally:
        _set_statistics_target(database, -1)
        density._statistics.clear()

    assert "eresolve" not in listed
    assert estimate == density.MatchEstimate(
        matches=pytest.approx(20.0), share=pytest.approx(0.2)
    )


def _set_statistics_target(database: Database, target: int) -> None:
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text(f"ALTER TABLE incidents ALTER search_vector SET STATISTICS {target}")
        )


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
        count_limit=10,
    )


@pytest.mark.parametrize("query", ['"exit code 137"', "quiet", "exit"])
def test_broad_count_is_the_same_walked_or_from_the_index(
    database: Database, member: User, query: str
) -> None:
    _only_postgres(database)
    make_incidents(database, member, 4, error_message="Process: exit code 137")
    make_incidents(database, member, 6, error_message="quiet run, exit 0")

    counts = []
    walked = (repository._WALK_COUNT_SETTINGS, repository.WALK_COUNT_ORDER)
    for settings, order in (walked, (repository._INDEX_COUNT_SETTINGS, ())):
        with database.transaction(write=False) as session:
            plan = _plan(session, member, query, sort_by=SortField.CREATED_AT)
            plan = dataclasses.replace(plan, count_settings=settings, count_order=order)
            counts.append(pages.count_matches(session, plan, cap=100))

    expected = {'"exit code 137"': 4, "quiet": 6, "exit": 10}[query]
    assert counts == [expected, expected]


@pytest.mark.parametrize(
    ("share", "prefixed", "walks"),
    [
        (0.1, False, True),
        (0.01, False, False),
        (0.07, False, False),
        (0.07, True, True),
    ],
    ids=["npm", "ERESOLVE", "rarer word", "rarer prefix"],
)
def test_a_broad_count_walks_when_that_reads_less_than_the_index(
    share: float, prefixed: bool, walks: bool
) -> None:
    # At a million incidents: walking to 1,001 matches of a word in one of
    # ten reads 10,000 rows (22 ms); its index lists 100,000 matches (28 ms).
    estimate = density.MatchEstimate(matches=share * 1_000_000, share=share)

    assert repository.walks_count(estimate, 1_000, prefixed=prefixed) is walks


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


@pytest.mark.parametrize(
    ("tags", "severities", "expected"),
    [
        (["flaky"], None, 7),
        (["flaky", "cache"], None, 4),
        (["cache", "flaky"], ["critical"], 2),
        (["missing"], None, 0),
    ],
)
def test_a_count_led_by_a_tag_counts_what_the_pages_show(
    database: Database,
    member: User,
    tmp_path: Path,
    tags: list[str],
    severities: list[str] | None,
    expected: int,
) -> None:
    make_incidents(database, member, 3, tags=["flaky"])
    make_incidents(database, member, 2, tags=["flaky", "cache"])
    make_incidents(database, member, 2, tags=["cache", "flaky"], severity="critical")
    make_incidents(database, member, 5, tags=["cache"], severity="critical")
    other = make_user(database, email="other@example.com", team="other")
    make_incidents(database, other, 4, tags=["flaky", "cache"], severity="critical")
    url = database.engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, tmp_path)
    body: dict[str, Any] = {"tags": tags, "page_size": 2}
    if severities:
        body["severities"] = severities

    with TestClient(create_app(settings, database=database)) as client:
        pages = _all_pages(client, auth_headers(member, settings), body)

    shown = sum(len(page["incidents"]) for page in pages)
    assert shown == expected
    assert pages[0]["pagination"]["total_items"] == expected
    assert pages[0]["pagination"]["total_items_relation"] == "eq"


def test_a_count_led_by_a_tag_stops_at_the_count_limit(
    database: Database, member: User, tmp_path: Path
) -> None:
    make_incidents(database, member, 12, tags=["flaky"])
    url = database.engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, tmp_path, search_count_limit=10)

    with TestClient(create_app(settings, database=database)) as client:
        response = client.post(
            SEARCH, json={"tags": ["flaky"]}, headers=auth_headers(member, settings)
        )

    pagination = response.json()["pagination"]
    assert (pagination["total_items"], pagination["total_items_relation"]) == (
        10,
        "gte",
    )


def test_search_answers_while_a_bulk_load_has_the_id_index_set_aside(
    database: Database, member: User, tmp_path: Path
) -> None:
    # SQLite reads the covering id index by name; a load that dropped it for
    # a while must not turn searches into errors.
    make_incidents(database, member, 6, error_message="npm ERR! exit code 137")
    url = database.engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, tmp_path, search_broad_matches=0)
    with database.engine.begin() as connection:
        definition = connection.scalar(
            text("SELECT sql FROM sqlite_master WHERE name = 'ix_incidents_search_id'")
            if database.is_sqlite
            else text("SELECT pg_get_indexdef('ix_incidents_search_id'::regclass)")
        )
        connection.execute(text("DROP INDEX ix_incidents_search_id"))
    body = {"search_query": "npm", "include_facets": True, "severities": ["high"]}

    try:
        with TestClient(create_app(settings, database=database)) as client:
            response = client.post(
                SEARCH, json=body, headers=auth_headers(member, settings)
            )
    finally:
        with database.engine.begin() as connection:
            connection.execute(text(definition))

    assert response.status_code == 200
    summary = response.json()["summary"]
    assert summary["total_results"] == 6
    assert summary["facets"]["severities"]["high"] == 6


@pytest.mark.parametrize("query", ["exit*", '"exit code"', "exit"])
@pytest.mark.parametrize("broad_matches", [0, 3, 5_000], ids=["1", "4", "all"])
def test_a_broad_walk_finds_and_counts_matches_older_than_the_newest_listed(
    database: Database, member: User, tmp_path: Path, query: str, broad_matches: int
) -> None:
    # The plan lists the newest broad_matches + 1 matches once and checks the
    # order's windows against them; older matches must still be found and
    # counted, with a filter that only some of the newest meet.
    make_incidents(database, member, 5, error_message="exit code 1", severity="low")
    make_incidents(database, member, 4, error_message="quiet run")
    make_incidents(database, member, 6, error_message="exit code 2", severity="high")
    make_incidents(database, member, 3, error_message="exit code 3", severity="low")
    url = database.engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, tmp_path, search_broad_matches=broad_matches)
    headers = auth_headers(member, settings)

    with TestClient(create_app(settings, database=database)) as client:
        every = _all_pages(client, headers, {"search_query": query, "page_size": 4})
        low = _all_pages(
            client,
            headers,
            {"search_query": query, "severities": ["low"], "page_size": 3},
        )

    assert sum(len(page["incidents"]) for page in every) == 14
    assert every[0]["pagination"]["total_items"] == 14
    assert sum(len(page["incidents"]) for page in low) == 8
    assert low[0]["pagination"]["total_items"] == 8
    assert {hit["severity"] for page in low for hit in page["incidents"]} == {"low"}
