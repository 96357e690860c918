"""Repository strings become remotes; tokens only go to their own provider's host."""

from __future__ import annotations

import pytest

from devflowfix.errors import ValidationFailed
from devflowfix.pullrequests.remotes import (
    Credentials,
    Provider,
    Remote,
    endpoints_of,
    redact,
    resolve_remote,
)

GITHUB = {Provider.GITHUB: Credentials(token="ghp_secret")}
BOTH = {
    Provider.GITHUB: Credentials(
        token="ghp_secret", base_url="https://ghe.example.com/api/v3"
    ),
    Provider.GITLAB: Credentials(
        token="glpat-secret", base_url="https://gitlab.example.com"
    ),
}


def resolve(repository: str, **options: object) -> Remote:
    values: dict[str, object] = {
        "source": "github_actions",
        "credentials": GITHUB,
        "allow_local": False,
    }
    values.update(options)
    return resolve_remote(repository, **values)  # type: ignore[arg-type]


def test_owner_and_name_is_a_github_repository_by_default() -> None:
    remote = resolve("acme/web-app")

    assert remote == Remote(
        url="https://github.com/acme/web-app.git",
        provider=Provider.GITHUB,
        project="acme/web-app",
        api_url="https://api.github.com",
        token="ghp_secret",
    )


def test_gitlab_ci_incidents_use_the_teams_gitlab() -> None:
    remote = resolve("acme/tools/cli", source="gitlab_ci", credentials=BOTH)

    assert remote.url == "https://gitlab.example.com/acme/tools/cli.git"
    assert remote.provider is Provider.GITLAB
    assert remote.project == "acme/tools/cli"
    assert remote.api_url == "https://gitlab.example.com/api/v4"
    assert remote.token == "glpat-secret"


def test_a_team_with_only_gitlab_gets_gitlab_for_other_sources() -> None:
    gitlab_only = {Provider.GITLAB: Credentials(token="glpat-secret")}

    remote = resolve("acme/web-app", source="jenkins", credentials=gitlab_only)

    assert remote.url == "https://gitlab.com/acme/web-app.git"
    assert remote.api_url == "https://gitlab.com/api/v4"


def test_github_enterprise_urls_map_to_its_api() -> None:
    remote = resolve("https://ghe.example.com/acme/web-app.git", credentials=BOTH)

    assert remote.provider is Provider.GITHUB
    assert remote.url == "https://ghe.example.com/acme/web-app.git"
    assert remote.api_url == "https://ghe.example.com/api/v3"
    assert remote.token == "ghp_secret"


@pytest.mark.parametrize(
    ("provider", "base_url", "web_url", "api_url"),
    [
        (Provider.GITHUB, None, "https://github.com", "https://api.github.com"),
        (
            Provider.GITHUB,
            "https://api.github.com/",
            "https://github.com",
            "https://api.github.com",
        ),
        (
            Provider.GITHUB,
            "https://ghe.example.com",
            "https://ghe.example.com",
            "https://ghe.example.com/api/v3",
        ),
        (Provider.GITLAB, None, "https://gitlab.com", "https://gitlab.com/api/v4"),
        (
            Provider.GITLAB,
            "https://git.example.com/api/v4",
            "https://git.example.com",
            "https://git.example.com/api/v4",
        ),
    ],
)
def test_base_urls_name_the_web_and_api_roots(
    provider: Provider, base_url: str | None, web_url: str, api_url: str
) -> None:
    endpoints = endpoints_of(provider, base_url)

    assert (endpoints.web_url, endpoints.api_url) == (web_url, api_url)


def test_a_url_on_another_host_gets_no_token_and_no_api() -> None:
    remote = resolve("https://git.other.example/acme/web-app.git", credentials=BOTH)

    assert remote == Remote(url="https://git.other.example/acme/web-app.git")
    assert remote.auth_header is None


def test_the_github_token_never_goes_to_a_lookalike_host() -> None:
    remote = resolve("https://github.com.evil.example/acme/web-app.git")

    assert remote.token is None
    assert remote.provider is None


def test_local_paths_need_the_setting() -> None:
    with pytest.raises(ValidationFailed) as caught:
        resolve("/srv/git/web-app.git")

    assert caught.value.errors == [
        {
            "loc": ["repository"],
            "msg": "local repository paths are turned off on this server "
            "(DEVFLOWFIX_ALLOW_LOCAL_REMOTES); give owner/name or an https URL",
            "type": "value_error",
        }
    ]
    assert resolve("/srv/git/web-app.git", allow_local=True) == Remote(
        url="/srv/git/web-app.git"
    )
    assert resolve("file:///srv/git/web-app.git", allow_local=True) == Remote(
        url="/srv/git/web-app.git"
    )


SSH = "ssh remotes are not supported; give the https URL"
FORMS = (
    "give the repository as owner/name, an https URL or, where the service "
    "allows it, an absolute local path"
)
ONE_SLASH = "a GitHub repository is owner/name, with one slash"


@pytest.mark.parametrize(
    ("repository", "message"),
    [
        ("git@github.com:acme/web-app.git", SSH),
        ("ssh://git@github.com/acme/web-app.git", SSH),
        (
            "https://user:pw@github.com/acme/web-app.git",
            "put no credentials in the repository URL; the token comes from the "
            "team's integration settings",
        ),
        (
            "http://git.other.example/acme/web-app.git",
            "only https repository URLs are supported, unless the URL is on a "
            "provider host configured in the team's integration settings",
        ),
        ("ftp://example.com/repo", "only https repository URLs are supported"),
        ("https://github.com/", "the repository URL names no repository"),
        ("https://github.com/acme/web-app/tree/main", ONE_SLASH),
        ("acme/tools/cli", ONE_SLASH),
        ("acme/../etc", FORMS),
        ("web-app", FORMS),
        (
            "/srv/git/../../etc",
            "a local repository must be an absolute path without '..'",
        ),
    ],
)
def test_unusable_repositories_are_a_422(repository: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        resolve(repository, allow_local=True)

    assert caught.value.status_code == 422
    assert caught.value.errors == [
        {"loc": ["repository"], "msg": message, "type": "value_error"}
    ]


def test_the_auth_header_is_basic_with_the_token_as_password() -> None:
    github = resolve("acme/web-app")
    gitlab = resolve("acme/web-app", source="gitlab_ci", credentials=BOTH)

    assert (
        github.auth_header
        == "Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hwX3NlY3JldA=="
    )
    assert gitlab.auth_header == "Authorization: Basic b2F1dGgyOmdscGF0LXNlY3JldA=="
    assert "ghp_secret" not in repr(github)


def test_redact_removes_tokens_and_url_passwords() -> None:
    text = "fatal: https://x-access-token:ghp_secret@github.com/a/b.git ghp_secret"

    assert redact(text, ["ghp_secret"]) == ("fatal: https://***@github.com/a/b.git ***")
