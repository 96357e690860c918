"""The production rate limit: 120 requests a minute per user, shared through Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import REDIS_URL, make_settings
from devflowfix.app import create_app
from devflowfix.config import Settings
from devflowfix.db import Database
from factories import auth_headers, make_user


@pytest.fixture
def production(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, env="production", log_level="ERROR")


@pytest.fixture
def limited(production: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(production, database=database)) as client:
        yield client


def test_121st_request_in_a_minute_is_429(
    limited: TestClient, database: Database, production: Settings
) -> None:
    headers = auth_headers(make_user(database), production)

    answers = [limited.get("/api/v1/auth/me", headers=headers) for _ in range(121)]

    assert [answer.status_code for answer in answers[:120]] == [200] * 120
    refused = answers[120]
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "rate_limited"
    assert body["request_id"] == refused.headers["x-request-id"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-limit"] == "120"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-policy"] == '"per-user";q=120;w=60'
    assert refused.headers["ratelimit"].startswith('"per-user";r=0;t=')


def test_limited_responses_count_down(
    limited: TestClient, database: Database, production: Settings
) -> None:
    headers = auth_headers(make_user(database), production)

    first = limited.get("/api/v1/auth/me", headers=headers)
    second = limited.get("/api/v1/auth/me", headers=headers)

    assert first.headers["x-ratelimit-remaining"] == "119"
    assert second.headers["x-ratelimit-remaining"] == "118"
    assert second.headers["ratelimit"].startswith('"per-user";r=118;t=')
    reset = int(second.headers["x-ratelimit-reset"])
    assert time.time() < reset <= time.time() + 61


def test_another_user_keeps_their_own_budget(
    limited: TestClient, database: Database, production: Settings
) -> None:
    busy = auth_headers(make_user(database), production)
    calm = auth_headers(make_user(database), production)
    for _ in range(120):
        limited.get("/api/v1/auth/me", headers=busy)

    assert limited.get("/api/v1/auth/me", headers=busy).status_code == 429
    assert limited.get("/api/v1/auth/me", headers=calm).status_code == 200


def test_health_probes_are_not_limited(limited: TestClient) -> None:
    answers = [limited.get("/healthz").status_code for _ in range(130)]

    assert answers == [200] * 130


def test_development_has_no_limit(
    client: TestClient, database: Database, settings: Settings
) -> None:
    headers = auth_headers(make_user(database), settings)

    answers = [client.get("/api/v1/auth/me", headers=headers) for _ in range(130)]

    assert {answer.status_code for answer in answers} == {200}
    assert "x-ratelimit-limit" not in answers[0].headers


@pytest.mark.redis
def test_two_app_processes_share_one_budget_through_redis(
    database_url: str, tmp_path: Path, database: Database
) -> None:
    if not REDIS_URL:
        pytest.skip("DEVFLOWFIX_TEST_REDIS_URL is not set")
    shared = make_settings(
        database_url,
        tmp_path,
        env="production",
        log_level="ERROR",
        rate_limit_storage=REDIS_URL,
    )
    headers = auth_headers(make_user(database), shared)
    first_app = create_app(shared, database=database)
    second_app = create_app(shared, database=database)

    with TestClient(first_app) as first, TestClient(second_app) as second:
        answers = [first.get("/api/v1/auth/me", headers=headers) for _ in range(60)]
        answers += [second.get("/api/v1/auth/me", headers=headers) for _ in range(60)]
        refused_first = first.get("/api/v1/auth/me", headers=headers)
        refused_second = second.get("/api/v1/auth/me", headers=headers)

    assert {answer.status_code for answer in answers} == {200}
    assert answers[-1].headers["x-ratelimit-remaining"] == "0"
    assert refused_first.status_code == 429
    assert refused_second.status_code == 429


def test_webhooks_spend_their_endpoints_budget_not_the_callers(
    database_url: str, tmp_path: Path, database: Database
) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        env="production",
        log_level="ERROR",
        rate_limit_per_minute=2,
        webhook_rate_limit_per_minute=3,
    )

    with TestClient(create_app(settings, database=database)) as client:
        codes = [
            client.post("/api/v1/webhooks/github/acme", json={}).status_code
            for _ in range(4)
        ]
        other_team = client.post("/api/v1/webhooks/github/other", json={})
        api = client.get("/api/v1/auth/me")

    assert codes[3] == 429
    assert 429 not in codes[:3]
    assert other_team.status_code != 429
    assert other_team.headers["ratelimit-policy"] == '"per-webhook";q=3;w=60'
    assert api.status_code == 401
    assert api.headers["x-ratelimit-remaining"] == "1"
