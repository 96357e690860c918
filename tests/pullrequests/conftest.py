"""Fixtures of the fix pull request tests: seeded bare repositories, a fake forge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import make_settings
from devflowfix.config import Settings
from factories import make_git_remote
from forge import FORGE_TOKEN, SEED_FILES, FakeForge


@pytest.fixture
def bare_remote(tmp_path: Path) -> Path:
    """A bare repository whose `main` has one commit with `SEED_FILES`."""
    return make_git_remote(tmp_path / "remote.git", SEED_FILES)


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[FakeForge]:
    """The fake GitHub/GitLab, serving `acme/web-app` and `acme/tools/cli`."""
    root = tmp_path / "forge"
    make_git_remote(root / "acme" / "web-app.git", SEED_FILES)
    make_git_remote(root / "acme" / "tools" / "cli.git", SEED_FILES)
    server = FakeForge(root, FORGE_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Local remotes on (the tests push to bare repositories on disk)."""
    return make_settings(
        database_url,
        tmp_path,
        allow_local_remotes=True,
        public_url="https://devflowfix.example.com",
    )
