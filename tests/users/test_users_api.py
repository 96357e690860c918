"""Admins manage the users of their own team, and only theirs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.models import User
from devflowfix.vocabulary import Role
from factories import auth_headers, make_user


@pytest.fixture
def admin(database: Database) -> User:
    return make_user(database, role=Role.ADMIN, team="acme")


def test_admin_adds_a_user_who_can_sign_in(
    client: TestClient, admin: User, settings: Settings
) -> None:
    response = client.post(
        "/api/v1/users",
        json={"email": "New.Person@acme.example.com", "password": "long-password"},
        headers=auth_headers(admin, settings),
    )

    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new.person@acme.example.com"
    assert body["role"] == "member"
    assert body["team"] == "acme"
    assert body["is_active"] is True
    assert response.headers["location"].endswith(f"/api/v1/users/{body['user_id']}")
    signed_in = client.post(
        "/api/v1/auth/token",
        data={"username": "new.person@acme.example.com", "password": "long-password"},
    )
    assert signed_in.status_code == 200


def test_list_shows_only_the_admins_team(
    client: TestClient, admin: User, database: Database, settings: Settings
) -> None:
    teammate = make_user(database, team="acme")
    make_user(database, team="other")

    body = client.get("/api/v1/users", headers=auth_headers(admin, settings)).json()

    assert body["total"] == 2
    assert {user["user_id"] for user in body["users"]} == {
        admin.public_id,
        teammate.public_id,
    }


def test_another_teams_user_is_not_found(
    client: TestClient, admin: User, database: Database, settings: Settings
) -> None:
    stranger = make_user(database, team="other")
    headers = auth_headers(admin, settings)

    read = client.get(f"/api/v1/users/{stranger.public_id}", headers=headers)
    changed = client.patch(
        f"/api/v1/users/{stranger.public_id}", json={"role": "viewer"}, headers=headers
    )

    assert read.status_code == 404
    assert changed.status_code == 404


def test_disabling_a_user_revokes_their_tokens(
    client: TestClient, admin: User, database: Database, settings: Settings
) -> None:
    member = make_user(database, team="acme")
    member_headers = auth_headers(member, settings)

    response = client.patch(
        f"/api/v1/users/{member.public_id}",
        json={"is_active": False, "role": "viewer"},
        headers=auth_headers(admin, settings),
    )

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert response.json()["role"] == "viewer"
    assert client.get("/api/v1/auth/me", headers=member_headers).status_code == 401


def test_admin_cannot_demote_themselves(
    client: TestClient, admin: User, settings: Settings
) -> None:
    response = client.patch(
        f"/api/v1/users/{admin.public_id}",
        json={"role": "member"},
        headers=auth_headers(admin, settings),
    )

    assert response.status_code == 409


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_non_admins_cannot_manage_users(
    client: TestClient, database: Database, settings: Settings, role: Role
) -> None:
    headers = auth_headers(make_user(database, role=role), settings)

    listed = client.get("/api/v1/users", headers=headers)
    created = client.post(
        "/api/v1/users",
        json={"email": "x@acme.example.com", "password": "long-password"},
        headers=headers,
    )

    assert listed.status_code == 403
    assert created.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": "long-password"},
        {"email": "a@acme.example.com", "password": "short"},
        {"email": "a@acme.example.com", "password": "long-password", "role": "owner"},
        {"email": "a@acme.example.com", "password": "long-password", "team": "x"},
    ],
)
def test_bad_user_bodies_are_422(
    client: TestClient, admin: User, settings: Settings, body: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/users", json=body, headers=auth_headers(admin, settings)
    )

    assert response.status_code == 422


def test_duplicate_email_is_a_conflict(
    client: TestClient, admin: User, settings: Settings
) -> None:
    response = client.post(
        "/api/v1/users",
        json={"email": admin.email, "password": "long-password"},
        headers=auth_headers(admin, settings),
    )

    assert response.status_code == 409
