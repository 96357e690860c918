"""Integration settings over HTTP: admins only, secrets masked and encrypted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import make_settings
from devflowfix.app import create_app
from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.integrations.crypto import SecretBox
from devflowfix.integrations.retry import LogFetchError
from devflowfix.integrations.service import log_target_for, pull_request_credentials
from devflowfix.models import Incident, TeamIntegration
from devflowfix.pullrequests.remotes import Credentials
from devflowfix.pullrequests.remotes import Provider as RemoteProvider
from devflowfix.vocabulary import Provider, Role
from factories import auth_headers, make_user

SECRET = "whsec-0123456789abcdef"


@pytest.fixture
def admin(database: Database, settings: Settings) -> dict[str, str]:
    return auth_headers(make_user(database, role=Role.ADMIN), settings)


def put(client: TestClient, headers: dict[str, str], provider: str, **body: Any) -> Any:
    return client.put(f"/api/v1/integrations/{provider}", json=body, headers=headers)


def test_put_sets_the_settings_and_answers_them_masked(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = put(
        client,
        admin,
        "gitlab",
        webhook_secret=SECRET,
        token="glpat-abcdefghijklmnop",
        base_url="https://gitlab.acme.net/",
    )

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "provider": "gitlab",
        "configured": True,
        "webhook_secret": "********",
        "token": "********",
        "base_url": "https://gitlab.acme.net",
        "api_url": "https://gitlab.acme.net/api/v4",
        "webhook_url": "http://testserver/api/v1/webhooks/gitlab/acme",
        "updated_at": body["updated_at"],
    }
    assert SECRET not in response.text


def test_secrets_are_stored_encrypted(
    client: TestClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    put(client, admin, "github", webhook_secret=SECRET, token="ghp_0123456789")

    with database.transaction(write=False) as session:
        row = session.scalars(select(TeamIntegration)).one()

    assert row.webhook_secret_encrypted is not None
    assert SECRET not in row.webhook_secret_encrypted
    box = SecretBox.from_settings(settings)
    assert box.decrypt(row.webhook_secret_encrypted) == SECRET
    assert box.decrypt(row.token_encrypted or "") == "ghp_0123456789"


def test_a_field_left_out_stays_and_null_clears_it(
    client: TestClient, admin: dict[str, str]
) -> None:
    put(client, admin, "github", webhook_secret=SECRET, token="ghp_0123456789")

    kept = put(client, admin, "github", base_url="https://ghe.acme.net/api/v3")
    cleared = put(client, admin, "github", token=None)

    assert kept.json()["webhook_secret"] == "********"
    assert kept.json()["token"] == "********"
    assert cleared.json()["token"] is None
    assert cleared.json()["base_url"] == "https://ghe.acme.net/api/v3"


def test_get_lists_every_provider_with_defaults(
    client: TestClient, admin: dict[str, str]
) -> None:
    put(client, admin, "jenkins", base_url="https://ci.acme.net")

    listed = client.get("/api/v1/integrations", headers=admin).json()["integrations"]
    one = client.get("/api/v1/integrations/github", headers=admin).json()

    assert [item["provider"] for item in listed] == ["github", "gitlab", "jenkins"]
    assert [item["configured"] for item in listed] == [False, False, True]
    assert one["api_url"] == "https://api.github.com"
    assert one["webhook_secret"] is None
    assert one["updated_at"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"webhook_secret": "short"}, "webhook_secret"),
        ({"webhook_secret": "has spaces in the secret"}, "webhook_secret"),
        ({"token": "two words"}, "token"),
        ({"base_url": "ftp://ci.acme.net"}, "base_url"),
        ({"base_url": "https://user:pw@ci.acme.net"}, "base_url"),
        ({"base_url": "https://ci.acme.net/?x=1"}, "base_url"),
        ({"secret": SECRET}, "secret"),
    ],
)
def test_bad_settings_are_422_and_change_nothing(
    client: TestClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = put(client, admin, "github", **body)

    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert field in str(response.json()["errors"])
    assert (
        client.get("/api/v1/integrations/github", headers=admin).json()["configured"]
        is False
    )


def test_a_jenkins_token_needs_the_user_name(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = put(client, admin, "jenkins", token="11aa22bb33cc")

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["token"]


def test_an_unknown_provider_is_404(client: TestClient, admin: dict[str, str]) -> None:
    response = put(client, admin, "bitbucket", webhook_secret=SECRET)

    assert response.status_code == 404
    assert "github, gitlab, jenkins" in response.json()["message"]


def test_members_may_not_read_or_set_integrations(
    client: TestClient, database: Database, settings: Settings
) -> None:
    member = auth_headers(make_user(database, role=Role.MEMBER), settings)

    read = client.get("/api/v1/integrations", headers=member)
    written = put(client, member, "github", webhook_secret=SECRET)

    assert read.status_code == 403
    assert written.status_code == 403


def test_each_team_sees_only_its_own_settings(
    client: TestClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    put(client, admin, "github", webhook_secret=SECRET)
    other = auth_headers(make_user(database, role=Role.ADMIN, team="other"), settings)

    seen = client.get("/api/v1/integrations/github", headers=other).json()

    assert seen["configured"] is False
    assert seen["webhook_url"] == "http://testserver/api/v1/webhooks/github/other"


def test_a_log_target_carries_the_decrypted_token_and_the_default_url(
    client: TestClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    put(client, admin, "github", token="ghp_0123456789")
    with database.transaction() as session:
        team_id = session.scalars(select(TeamIntegration.team_id)).one()
        incident = Incident(
            team_id=team_id,
            provider_details={"provider": "github", "repository": "acme/orders"},
        )

        target = log_target_for(session, incident, SecretBox.from_settings(settings))

    assert target.provider is Provider.GITHUB
    assert target.api_url == "https://api.github.com"
    assert target.token == "ghp_0123456789"
    assert target.details == {"provider": "github", "repository": "acme/orders"}


@pytest.mark.parametrize(
    ("details", "message"),
    [
        (None, "The incident did not come from a provider webhook."),
        (
            {"provider": "gitlab"},
            "The team has no gitlab token to fetch the log with; set one with "
            "PUT /api/v1/integrations/gitlab.",
        ),
    ],
)
def test_a_log_target_needs_a_provider_incident_and_a_token(
    database: Database,
    settings: Settings,
    details: dict[str, Any] | None,
    message: str,
) -> None:
    user = make_user(database, role=Role.ADMIN)
    incident = Incident(team_id=user.team_id, provider_details=details)

    with database.transaction() as session, pytest.raises(LogFetchError) as caught:
        log_target_for(session, incident, SecretBox.from_settings(settings))

    assert str(caught.value) == message
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("base_url", "api_url"),
    [
        (None, "https://api.github.com"),
        ("https://ghe.acme.net", "https://ghe.acme.net/api/v3"),
        ("https://ghe.acme.net/api/v3", "https://ghe.acme.net/api/v3"),
    ],
)
def test_a_github_base_url_is_read_like_fix_pull_requests_read_it(
    client: TestClient, admin: dict[str, str], base_url: str | None, api_url: str
) -> None:
    response = put(client, admin, "github", base_url=base_url)

    assert response.json()["api_url"] == api_url


def test_pull_requests_get_the_teams_decrypted_credentials(
    client: TestClient, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    put(
        client,
        admin,
        "gitlab",
        token="glpat-0123456789",
        base_url="https://gl.acme.net",
    )
    put(client, admin, "jenkins", token="bot:11aa", base_url="https://ci.acme.net")
    with database.transaction(write=False) as session:
        team_id = session.scalars(select(TeamIntegration.team_id)).first()
        assert team_id is not None

        credentials = pull_request_credentials(
            session, team_id, SecretBox.from_settings(settings)
        )

    assert credentials == {
        RemoteProvider.GITLAB: Credentials(
            token="glpat-0123456789", base_url="https://gl.acme.net"
        )
    }


def test_secrets_and_tokens_never_reach_the_logs(
    database_url: str,
    tmp_path: Path,
    database: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(database_url, tmp_path, log_json=True, log_level="INFO")
    headers = auth_headers(make_user(database, role=Role.ADMIN), settings)
    capsys.readouterr()

    with TestClient(create_app(settings, database=database)) as client:
        client.put(
            "/api/v1/integrations/github",
            json={"webhook_secret": SECRET, "token": "ghp_0123456789"},
            headers=headers,
        )
        client.get("/api/v1/integrations", headers=headers)

    output = capsys.readouterr().err
    assert '"event": "integration.updated"' in output
    assert '"fields": ["token", "webhook_secret"]' in output
    assert SECRET not in output
    assert "ghp_0123456789" not in output
