"""Search against a reference model: generated incidents, random filter sets.

For every filter set: each returned incident satisfies every filter, the pages
are disjoint and together are exactly the match set in the right order, cursor
pages equal numbered pages, forwards and backwards, and the facets count the
match set.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from conftest import make_settings
from devflowfix.app import create_app
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.incidents import repository as incidents
from devflowfix.models import Incident
from devflowfix.search.dates import DatePreset
from devflowfix.search.fulltext import Phrase, compile_query, words_of
from devflowfix.search.schemas import IncidentFilters
from devflowfix.vocabulary import Severity
from factories import auth_headers, make_user

SEARCH = "/api/v1/incidents/search"
WORDS = [
    "timeout",
    "error",
    "npm",
    "err",
    "eresolve",
    "exit",
    "code",
    "137",
    "module",
    "modulenotfounderror",
    "yaml",
    "docker",
    "pull",
    "denied",
    "src",
    "app",
    "py",
    "42",
    "flaky",
    "test",
    # Words spelled like the facet words SQLite keeps in its full-text index
    # (migration 0015): text that holds them must match as text only.
    "sev3",
    "outpending",
]
SEPARATORS = (" ", ": ", "/", ".", "! ", " - ", "_")
SOURCES = ("github_actions", "gitlab_ci", "jenkins", "kubernetes")
OUTCOMES = ("pending", "success", "failed", "timeout")
FAILURE_TYPES = ("build_failure", "test_failure", "timeout", "dependency_error")
TAGS = ("ci", "backend", "flaky", "team:web", "p1")
REPOSITORIES = ("acme/api", "acme/web-app", "beta/docs")
WORKFLOWS = ("CI", "Build and test", "Nightly", None)
SORTS = (
    "created_at",
    "updated_at",
    "severity",
    "confidence",
    "resolution_time_seconds",
)


@dataclass(frozen=True)
class Row:
    """What the reference model knows of one stored incident."""

    incident_id: str
    source: str
    severity: Severity
    outcome: str
    failure_type: str
    repository: str | None
    confidence: float | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    resolution_time_seconds: int | None
    texts: tuple[str | None, ...]
    key: int


def _text(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return "".join(word + rng.choice(SEPARATORS) for word in words).strip()


def _incident(rng: random.Random, team_id: int, now: datetime) -> Incident:
    created = now - timedelta(seconds=rng.randint(0, 100 * 86_400))
    resolution = rng.choice((None, None, 60, 600, 3_600, rng.randint(1, 9_999)))
    return Incident(
        team_id=team_id,
        source=rng.choice(SOURCES),
        severity=rng.choice(list(Severity)),
        outcome=rng.choice(OUTCOMES),
        failure_type=rng.choice(FAILURE_TYPES),
        repository=rng.choice((*REPOSITORIES, None)),
        workflow=rng.choice(WORKFLOWS),
        error_message=_text(rng, 2, 6),
        root_cause=rng.choice((None, _text(rng, 3, 8))),
        error_log=rng.choice((None, _text(rng, 5, 30))),
        confidence=rng.choice((None, 0.3, 0.5, 0.5, 0.9, round(rng.random(), 3))),
        tags=rng.sample(TAGS, rng.randint(0, 3)),
        timestamp=created,
        created_at=created,
        updated_at=created + timedelta(seconds=rng.choice((0, 0, 30, 7_200))),
        resolved_at=None,
        resolution_time_seconds=resolution,
    )


@pytest.fixture
def dataset(database: Database, settings: Settings) -> tuple[list[Row], dict[str, str]]:
    """Forty-five generated incidents of one team, three of another; the
    reference rows and the team member's headers."""
    user = make_user(database)
    stranger = make_user(database, team="strangers")
    rng = random.Random(20251228)
    now = datetime.now(UTC)
    with database.transaction() as session:
        stored = [_incident(rng, user.team_id, now) for _ in range(45)]
        for incident in [
            *stored,
            *(_incident(rng, stranger.team_id, now) for _ in range(3)),
        ]:
            incidents.add_incident(session, incident)
        rows = [_row(incident) for incident in stored]
    return rows, auth_headers(user, settings)


def _row(incident: Incident) -> Row:
    return Row(
        incident_id=incident.public_id,
        source=incident.source,
        severity=Severity(incident.severity),
        outcome=incident.outcome,
        failure_type=incident.failure_type,
        repository=incident.repository,
        confidence=incident.confidence,
        tags=tuple(incident.tags),
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        resolution_time_seconds=incident.resolution_time_seconds,
        texts=(
            incident.error_message,
            incident.root_cause,
            incident.error_log,
            incident.repository,
            incident.workflow,
            " ".join(incident.tags),
        ),
        key=incident.id,
    )


def _phrase_in(phrase: Phrase, text: str | None) -> bool:
    words = words_of(text or "")
    size = len(phrase.words)
    for start in range(len(words) - size + 1):
        window = words[start : start + size]
        head_equal = window[:-1] == list(phrase.words[:-1])
        last = window[-1]
        wanted = phrase.words[-1]
        if head_equal and (
            last.startswith(wanted) if phrase.prefix else last == wanted
        ):
            return True
    return False


def _matches_text(row: Row, query: str) -> bool:
    compiled = compile_query(query)

    def found(phrase: Phrase) -> bool:
        return any(_phrase_in(phrase, text) for text in row.texts)

    return all(map(found, compiled.positives)) and not any(
        map(found, compiled.negatives)
    )


def reference_matches(row: Row, filters: IncidentFilters, now: datetime) -> bool:
    """Whether `row` satisfies every filter, by the rules of docs/api.md."""
    checks = [
        not filters.sources or row.source in filters.sources,
        not filters.severities or row.severity in filters.severities,
        not filters.outcomes or row.outcome in filters.outcomes,
        not filters.failure_types or row.failure_type in filters.failure_types,
        not filters.tags or set(filters.tags) <= set(row.tags),
        filters.repository is None or row.repository == filters.repository,
        filters.min_confidence is None
        or (row.confidence is not None and row.confidence >= filters.min_confidence),
        filters.max_confidence is None
        or (row.confidence is not None and row.confidence <= filters.max_confidence),
        not filters.search_query or _matches_text(row, filters.search_query),
    ]
    window = filters.date_range(now)
    if window is not None:
        checks.append(window.start is None or row.created_at >= window.start)
        if window.end is not None:
            checks.append(
                row.created_at <= window.end
                if window.end_inclusive
                else row.created_at < window.end
            )
    return all(checks)


def reference_order(rows: list[Row], sort_by: str, sort_order: str) -> list[str]:
    """Incident ids in the order of docs/api.md: empty values are the smallest."""

    def key(row: Row) -> tuple[Any, ...]:
        value = getattr(row, sort_by)
        if sort_by == "severity":
            value = value.rank
        return (value is not None, value if value is not None else 0, row.key)

    ordered = sorted(rows, key=key, reverse=sort_order == "desc")
    return [row.incident_id for row in ordered]


_terms = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(lambda word: word[:3] + "*"),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(
        lambda pair: f'"{pair[0]} {pair[1]}"'
    ),
    st.sampled_from(("src/app.py", "npm ERR!", "exit code 137", "app.py:42")),
)
_queries = st.tuples(
    _terms, st.lists(st.one_of(_terms, _terms.map("-{}".format)), max_size=2)
)
_searches = st.fixed_dictionaries(
    {
        "sort_by": st.sampled_from(SORTS),
        "sort_order": st.sampled_from(("asc", "desc")),
        "page_size": st.integers(3, 9),
        "include_facets": st.booleans(),
    },
    optional={
        "search_query": _queries.map(lambda parts: " ".join((parts[0], *parts[1]))),
        "sources": st.lists(
            st.sampled_from(SOURCES), min_size=1, max_size=3, unique=True
        ),
        "severities": st.lists(
            st.sampled_from([s.value for s in Severity]),
            min_size=1,
            max_size=3,
            unique=True,
        ),
        "outcomes": st.lists(
            st.sampled_from(OUTCOMES), min_size=1, max_size=2, unique=True
        ),
        "failure_types": st.lists(
            st.sampled_from(FAILURE_TYPES), min_size=1, max_size=2, unique=True
        ),
        "tags": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True),
        "repository": st.sampled_from(REPOSITORIES),
        "min_confidence": st.sampled_from((0.0, 0.3, 0.5)),
        "max_confidence": st.sampled_from((0.5, 0.9, 1.0)),
        "date_preset": st.sampled_from([preset.value for preset in DatePreset]),
        "timezone": st.sampled_from(("UTC", "America/New_York", "Asia/Kolkata")),
    },
)


def _walk(
    client: TestClient, headers: dict[str, str], body: dict[str, Any]
) -> list[Any]:
    pages = [_post(client, headers, body)]
    while pages[-1]["pagination"]["has_next"]:
        pages.append(_post(client, headers, {**body, "page": len(pages) + 1}))
    return pages


def _follow(
    client: TestClient, headers: dict[str, str], first: Any, field: str
) -> list[Any]:
    pages = [first]
    while pages[-1]["pagination"][field]:
        pages.append(_post(client, headers, {"cursor": pages[-1]["pagination"][field]}))
    return pages


def _post(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = client.post(SEARCH, json=body, headers=headers)
    assert response.status_code == 200, (body, response.text)
    return response.json()


def _ids(pages: list[Any]) -> list[list[str]]:
    return [[hit["incident_id"] for hit in page["incidents"]] for page in pages]


@pytest.fixture(params=[5_000, 0], ids=["narrow", "broad"])
def client(
    request: pytest.FixtureRequest, database: Database, tmp_path: Path
) -> Iterator[TestClient]:
    """The app with the default plans, or with every text search planned broad."""
    url = database.engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, tmp_path, search_broad_matches=request.param)
    with TestClient(create_app(settings, database=database)) as client:
        yield client


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(search=_searches, relevance=st.booleans())
def test_search_equals_the_reference_model(
    client: TestClient,
    dataset: tuple[list[Row], dict[str, str]],
    search: dict[str, Any],
    relevance: bool,
) -> None:
    rows, headers = dataset
    assume(search.get("min_confidence", 0) <= search.get("max_confidence", 1))
    if relevance and "search_query" in search:
        search = {**search, "sort_by": "relevance"}
    filters = IncidentFilters.model_validate(
        {
            key: value
            for key, value in search.items()
            if key in IncidentFilters.model_fields
        }
    )
    now = datetime.now(UTC)
    matched = [row for row in rows if reference_matches(row, filters, now)]
    by_id = {row.incident_id: row for row in rows}

    note(f"search: {search!r}")
    pages = _walk(client, headers, search)
    forward = _follow(client, headers, pages[0], "next_cursor")
    backward = _follow(client, headers, forward[-1], "previous_cursor")

    numbered = _ids(pages)
    flat = [incident_id for page in numbered for incident_id in page]
    assert len(flat) == len(set(flat))
    assert all(reference_matches(by_id[i], filters, now) for i in flat)
    if search["sort_by"] == "relevance":
        assert sorted(flat) == sorted(row.incident_id for row in matched)
    else:
        assert flat == reference_order(matched, search["sort_by"], search["sort_order"])
    assert all(len(page) <= search["page_size"] for page in numbered)
    assert _ids(forward) == numbered or (not flat and _ids(forward) == [[]])
    assert _ids(backward)[::-1] == _ids(forward)
    first = pages[0]
    assert first["pagination"]["total_items"] == len(matched)
    assert first["pagination"]["total_items_relation"] == "eq"
    if search["include_facets"]:
        facets = first["summary"]["facets"]
        assert facets["counted"] == len(matched)
        sources = Counter(row.source for row in matched)
        assert {k: v for k, v in facets["sources"].items() if v} == dict(sources)
        severities = Counter(row.severity.value for row in matched)
        assert {k: v for k, v in facets["severities"].items() if v} == dict(severities)
