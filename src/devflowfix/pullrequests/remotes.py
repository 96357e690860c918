"""How a repository string becomes a git remote, and which token may go with it.

A repository is one of:

- `owner/name` (GitLab: `group/subgroup/name`): a project on the GitHub or GitLab
  of the team's integration settings, `https://github.com/owner/name.git` by
  default;
- a full `https://` URL: on the integration's host it is that provider's project,
  anywhere else a plain git remote that gets the pushed branch but no pull request;
- an absolute local path or `file://` URL, only when `allow_local_remotes` is on,
  so that users cannot make the server read its own disk.

A token is only ever sent to the host of the integration it belongs to.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from devflowfix.errors import ValidationFailed

SLUG = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")
USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
REDACTED = "***"


class Provider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


class RepositoryForm(StrEnum):
    SLUG = "slug"
    URL = "url"
    LOCAL = "local"


@dataclass(frozen=True)
class Credentials:
    """One provider's integration settings: a token and a base URL, both optional."""

    token: str | None = field(default=None, repr=False)
    base_url: str | None = None


@dataclass(frozen=True)
class ProviderEndpoints:
    """Where a provider serves repositories (web) and its REST API."""

    web_url: str
    api_url: str


@dataclass(frozen=True)
class Remote:
    """A git remote, with the provider whose pull-request API serves it, if any."""

    url: str
    provider: Provider | None = None
    project: str | None = None
    api_url: str | None = None
    token: str | None = field(default=None, repr=False)

    @property
    def auth_header(self) -> str | None:
        """The HTTP header git sends to the provider's host, or None."""
        if not self.token or self.provider is None:
            return None
        # GitHub takes any user name with a token as password; GitLab documents
        # `oauth2` for tokens used over HTTPS.
        user = "x-access-token" if self.provider is Provider.GITHUB else "oauth2"
        pair = base64.b64encode(f"{user}:{self.token}".encode()).decode("ascii")
        return f"Authorization: Basic {pair}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form of the credentials that must never leave the process."""
        if not self.token:
            return ()
        header = self.auth_header or ""
        return (self.token, header.removeprefix("Authorization: Basic "), header)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without URL user names and passwords and without the given secrets."""
    for secret in sorted((value for value in secrets if value), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return USERINFO.sub(rf"\1{REDACTED}@", text)


def classify_repository(repository: str) -> RepositoryForm:
    """The form of a repository string, or ValueError saying what is accepted."""
    if repository.startswith("/") or repository.startswith("file://"):
        return RepositoryForm.LOCAL
    # TODO: ssh remotes are refused; a repository is reached over https only.
    if SCP_LIKE.match(repository) or repository.startswith("ssh://"):
        raise ValueError("ssh remotes are not supported; give the https URL")
    if "://" in repository:
        _check_url(repository)
        return RepositoryForm.URL
    if SLUG.match(repository) and ".." not in repository.split("/"):
        return RepositoryForm.SLUG

    raise ValueError(
        "give the repository as owner/name, an https URL or, where the service "
        "allows it, an absolute local path"
    )


def _check_url(repository: str) -> None:
    parts = urlsplit(repository)
    if parts.scheme not in {"https", "http"}:
        raise ValueError("only https repository URLs are supported")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "put no credentials in the repository URL; the token comes from the "
            "team's integration settings"
        )
    if parts.query or parts.fragment or not parts.hostname:
        raise ValueError("the repository URL needs a host and no query or fragment")
    if parts.path.strip("/") == "":
        raise ValueError("the repository URL names no repository")


def endpoints_of(provider: Provider, base_url: str | None) -> ProviderEndpoints:
    """The web and API roots of a provider, from the integration's base URL."""
    if provider is Provider.GITHUB:
        return _github_endpoints(base_url)
    return _gitlab_endpoints(base_url)


def _github_endpoints(base_url: str | None) -> ProviderEndpoints:
    if not base_url:
        return ProviderEndpoints("https://github.com", "https://api.github.com")
    base = base_url.rstrip("/")
    if urlsplit(base).hostname == "api.github.com":
        return ProviderEndpoints("https://github.com", base)
    # GitHub Enterprise Server serves its REST API under /api/v3.
    if base.endswith("/api/v3"):
        return ProviderEndpoints(base.removesuffix("/api/v3"), base)
    return ProviderEndpoints(base, base + "/api/v3")


def _gitlab_endpoints(base_url: str | None) -> ProviderEndpoints:
    base = (base_url or "https://gitlab.com").rstrip("/")
    if base.endswith("/api/v4"):
        return ProviderEndpoints(base.removesuffix("/api/v4"), base)
    return ProviderEndpoints(base, base + "/api/v4")


def choose_provider(
    source: str | None, credentials: Mapping[Provider, Credentials]
) -> Provider:
    """The provider of an `owner/name` repository: the CI's, else the configured one."""
    if source == "gitlab_ci":
        return Provider.GITLAB
    if source == "github_actions":
        return Provider.GITHUB
    if Provider.GITLAB in credentials and Provider.GITHUB not in credentials:
        return Provider.GITLAB
    return Provider.GITHUB


def resolve_remote(
    repository: str,
    *,
    source: str | None,
    credentials: Mapping[Provider, Credentials],
    allow_local: bool,
) -> Remote:
    """The remote a repository string names; a 422 for forms that are not allowed."""
    try:
        form = classify_repository(repository)
    except ValueError as exc:
        raise ValidationFailed.for_field("repository", str(exc)) from exc

    if form is RepositoryForm.LOCAL:
        return _local_remote(repository, allow_local=allow_local)
    if form is RepositoryForm.SLUG:
        return _slug_remote(repository, source=source, credentials=credentials)

    return _url_remote(repository, credentials)


def _local_remote(repository: str, *, allow_local: bool) -> Remote:
    if not allow_local:
        raise ValidationFailed.for_field(
            "repository",
            "local repository paths are turned off on this server "
            "(DEVFLOWFIX_ALLOW_LOCAL_REMOTES); give owner/name or an https URL",
        )

    path = repository.removeprefix("file://")
    if not path.startswith("/") or ".." in path.split("/"):
        raise ValidationFailed.for_field(
            "repository", "a local repository must be an absolute path without '..'"
        )

    return Remote(url=path)


def _slug_remote(
    repository: str,
    *,
    source: str | None,
    credentials: Mapping[Provider, Credentials],
) -> Remote:
    provider = choose_provider(source, credentials)
    access = credentials.get(provider, Credentials())
    return _provider_remote(provider, repository.removesuffix(".git"), access)


def _url_remote(repository: str, credentials: Mapping[Provider, Credentials]) -> Remote:
    url = repository.rstrip("/")
    for provider in Provider:
        access = credentials.get(provider, Credentials())
        project = _project_under(url, endpoints_of(provider, access.base_url).web_url)
        if project is not None:
            return _provider_remote(provider, project, access)

    if not url.startswith("https://"):
        raise ValidationFailed.for_field(
            "repository",
            "only https repository URLs are supported, unless the URL is on a "
            "provider host configured in the team's integration settings",
        )

    return Remote(url=url)


def _provider_remote(provider: Provider, project: str, access: Credentials) -> Remote:
    if provider is Provider.GITHUB and project.count("/") != 1:
        raise ValidationFailed.for_field(
            "repository", "a GitHub repository is owner/name, with one slash"
        )

    endpoints = endpoints_of(provider, access.base_url)
    return Remote(
        url=f"{endpoints.web_url}/{project}.git",
        provider=provider,
        project=project,
        api_url=endpoints.api_url,
        token=access.token,
    )


def _project_under(url: str, web_url: str) -> str | None:
    prefix = web_url.rstrip("/") + "/"
    if urlsplit(url).netloc.lower() != urlsplit(web_url).netloc.lower():
        return None
    if not url.lower().startswith(prefix.lower()):
        return None
    project = url[len(prefix) :].removesuffix(".git")
    return project if SLUG.match(project) else None
