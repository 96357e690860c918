"""Service configuration, read from `DEVFLOWFIX_*` environment variables."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Anyone can read this value in the source, so it may sign tokens only in development.
DEVELOPMENT_SECRET_KEY = "devflowfix-development-secret-key-change-me"  # noqa: S105


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(Exception):
    """The configuration cannot start the service."""


class Settings(BaseSettings):
    """Every setting of the service; see docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="DEVFLOWFIX_", env_file=None, extra="ignore", frozen=True
    )

    database_url: str = "sqlite:///./var/devflowfix.db"
    env: Environment = Environment.DEVELOPMENT
    secret_key: str = DEVELOPMENT_SECRET_KEY
    rate_limit_per_minute: int = Field(default=120, ge=1)
    rate_limit_storage: str = "memory://"
    webhook_rate_limit_per_minute: int = Field(default=1200, ge=1)
    results_dir: Path = Path("./var/results")
    job_workers: int = Field(default=2, ge=0, le=64)
    public_url: str | None = None

    token_expires_seconds: int = Field(default=3600, ge=60)
    token_issuer: str = "devflowfix"  # noqa: S105 - the JWT `iss` claim
    max_request_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_error_log_bytes: int = Field(default=64 * 1024, ge=1024)
    log_level: str = "INFO"
    log_json: bool | None = None
    db_pool_size: int = Field(default=10, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    sqlite_cache_mb: int = Field(default=2, ge=1, le=4096)
    search_count_limit: int = Field(default=1_000, ge=10, le=1_000_000)
    search_broad_matches: int = Field(default=5_000, ge=0)

    encryption_key: str | None = None
    encryption_previous_keys: str = ""
    webhook_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_fetch_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    log_fetch_attempts: int = Field(default=4, ge=1, le=10)
    log_fetch_max_wait_seconds: float = Field(default=60.0, ge=0, le=3600)
    log_fetch_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    allow_local_remotes: bool = False
    git_author_name: str = Field(default="DevFlowFix", min_length=1, max_length=100)
    git_author_email: str = Field(
        default="devflowfix@localhost", pattern=r"^[^<>\s]+@[^<>\s]+$"
    )
    git_timeout_seconds: int = Field(default=120, ge=1, le=3600)
    provider_attempts: int = Field(default=3, ge=1, le=10)
    provider_max_wait_seconds: int = Field(default=60, ge=0, le=3600)
    max_active_jobs_per_user: int = Field(default=10, ge=1)
    job_retention_days: int = Field(default=7, ge=1)
    job_lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    job_max_attempts: int = Field(default=3, ge=1, le=100)
    job_retry_backoff_seconds: float = Field(default=5.0, ge=0, le=3600)
    job_poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    job_progress_interval_seconds: float = Field(default=0.5, ge=0, le=60)
    bulk_batch_size: int = Field(default=1000, ge=1, le=10_000)
    auto_analyse: bool = True
    analysis_batch_size: int = Field(default=100, ge=1, le=10_000)

    @model_validator(mode="after")
    def _check_production(self) -> Self:
        if self.env is Environment.PRODUCTION:
            if self.secret_key == DEVELOPMENT_SECRET_KEY:
                raise ValueError(
                    "DEVFLOWFIX_SECRET_KEY is the development default; set a random "
                    "secret of at least 32 characters before running in production"
                )
            if len(self.secret_key) < 32:
                raise ValueError(
                    "DEVFLOWFIX_SECRET_KEY must be at least 32 characters in production"
                )

        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def rate_limit_enabled(self) -> bool:
        return self.is_production

    @property
    def json_logs(self) -> bool:
        if self.log_json is not None:
            return self.log_json
        return self.is_production

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_base_url(self) -> str | None:
        return self.public_url.rstrip("/") if self.public_url else None

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, with explicit overrides on top."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
