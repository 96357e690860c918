"""Fixtures of the fix pull request tests: seeded bare repositories, a fake forge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
