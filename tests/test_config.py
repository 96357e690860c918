"""Settings: defaults, environment variables and the production guard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devflowfix.config import (
    DEVELOPMENT_SECRET_KEY,
    ConfigurationError,
    Settings,
    load_settings,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("DEVFLOWFIX_"):
            monkeypatch.delenv(name)

    settings = load_settings()

    assert settings.database_url == "sqlite:///./var/devflowfix.db"
    assert settings.env == "development"
    assert settings.rate_limit_per_minute == 120
    assert settings.rate_limit_storage == "memory://"
    assert settings.results_dir == Path("./var/results")
    assert settings.job_workers == 2
    assert settings.public_url is None
    assert settings.rate_limit_enabled is False


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVFLOWFIX_JOB_WORKERS", "5")
    monkeypatch.setenv("DEVFLOWFIX_PUBLIC_URL", "https://devflowfix.example.com/")

    settings = load_settings()

    assert settings.job_workers == 5
    assert settings.public_base_url == "https://devflowfix.example.com"


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ConfigurationError, match="DEVFLOWFIX_SECRET_KEY"):
        load_settings(env="production", secret_key=DEVELOPMENT_SECRET_KEY)


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        load_settings(env="production", secret_key="short")


def test_production_enables_the_rate_limit_and_json_logs() -> None:
    settings = load_settings(env="production", secret_key="s" * 40)

    assert settings.rate_limit_enabled is True
    assert settings.json_logs is True


def test_bad_values_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="job_workers"):
        load_settings(job_workers=-1)


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`DEVFLOWFIX_([A-Z_]+)`", DOCS.read_text()))

    names = {name.upper() for name in Settings.model_fields}

    assert names <= documented, names - documented
