"""Bearer tokens: only a valid HS256 token of an existing, active user gets in."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import User
from factories import PASSWORD, auth_headers, make_user


def _b64(value: dict[str, object]) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(subject: str, settings: Settings, **changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": subject,
        "iss": settings.token_issuer,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _assert_unauthorized(client: TestClient, token: str) -> None:
    response = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["error"] == "unauthorized"
    assert body["request_id"] == response.headers["x-request-id"]


def test_valid_token_names_the_user(
    client: TestClient, database: Database, settings: Settings
) -> None:
    user = make_user(database, team="acme")

    response = client.get("/api/v1/auth/me", headers=auth_headers(user, settings))

    assert response.status_code == 200
    assert response.json() == {
        "user_id": user.public_id,
        "email": user.email,
        "role": "member",
        "team": "acme",
    }


def test_missing_token_is_unauthorized(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "token", ["", "not-a-token", "a.b.c", "Zm9v.YmFy.YmF6", "x" * 5000]
)
def test_malformed_token_is_unauthorized(client: TestClient, token: str) -> None:
    _assert_unauthorized(client, token or "''")


def test_expired_token_is_unauthorized(
    client: TestClient, database: Database, settings: Settings
) -> None:
    user = make_user(database)
    past = datetime.now(UTC) - timedelta(hours=2)
    claims = _claims(user.public_id, settings, iat=past, exp=past + timedelta(hours=1))

    _assert_unauthorized(client, jwt.encode(claims, settings.secret_key, "HS256"))


def test_unsigned_alg_none_token_is_unauthorized(
    client: TestClient, database: Database, settings: Settings
) -> None:
    user = make_user(database)
    claims = _claims(user.public_id, settings)
    payload = {
        key: int(v.timestamp()) if isinstance(v, datetime) else v
        for key, v in claims.items()
    }
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."

    _assert_unauthorized(client, token)


def test_token_signed_with_another_key_is_unauthorized(
    client: TestClient, database: Database, settings: Settings
) -> None:
    user = make_user(database)
    claims = _claims(user.public_id, settings)

    _assert_unauthorized(client, jwt.encode(claims, "another-secret-key-" * 3, "HS256"))


def test_token_with_another_algorithm_is_unauthorized(
    client: TestClient, database: Database, settings: Settings
) -> None:
    user = make_user(database)
    claims = _claims(user.public_id, settings)

    _assert_unauthorized(client, jwt.encode(claims, settings.secret_key, "HS512"))


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "iss"])
def test_token_without_a_required_claim_is_unauthorized(
    client: TestClient, database: Database, settings: Settings, missing: str
) -> None:
    user = make_user(database)
    claims = _claims(user.public_id, settings)
    del claims[missing]

    _assert_unauthorized(client, jwt.encode(claims, settings.secret_key, "HS256"))


def test_token_from_another_issuer_is_unauthorized(
    client: TestClient, database: Database, settings: Settings
) -> None:
    user = make_user(database)
    claims = _claims(user.public_id, settings, iss="someone-else")

    _assert_unauthorized(client, jwt.encode(claims, settings.secret_key, "HS256"))


def test_token_of_unknown_user_is_unauthorized(
    client: TestClient, settings: Settings
) -> None:
    claims = _claims("usr_000000000000", settings)

    _assert_unauthorized(client, jwt.encode(claims, settings.secret_key, "HS256"))


def test_token_of_disabled_user_is_unauthorized(
    client: TestClient, database: Database, settings: Settings
) -> None:
    user = make_user(database)
    with database.transaction() as session:
        session.execute(update(User).where(User.id == user.id).values(is_active=False))

    _assert_unauthorized(client, auth_headers(user, settings)["Authorization"][7:])


def test_password_form_issues_a_working_token(
    client: TestClient, database: Database, settings: Settings
) -> None:
    user = make_user(database)

    response = client.post(
        "/api/v1/auth/token",
        data={"username": user.email.upper(), "password": PASSWORD},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.token_expires_seconds
    claims = jwt.decode(
        body["access_token"], settings.secret_key, ["HS256"], issuer="devflowfix"
    )
    assert claims["sub"] == user.public_id
    assert claims["exp"] - claims["iat"] == settings.token_expires_seconds
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [("nobody@example.com", PASSWORD), (None, "wrong-password")],
)
def test_wrong_credentials_are_unauthorized(
    client: TestClient, database: Database, username: str | None, password: str
) -> None:
    user = make_user(database)

    response = client.post(
        "/api/v1/auth/token",
        data={"username": username or user.email, "password": password},
    )

    assert response.status_code == 401
    assert response.json()["message"] == "Wrong email or password."


def test_token_form_without_fields_is_a_validation_error(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={})

    assert response.status_code == 422
    locations = [error["loc"] for error in response.json()["errors"]]
    assert ["body", "username"] in locations
    assert ["body", "password"] in locations
