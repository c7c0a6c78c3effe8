"""Configuration from `W360_*` environment variables, in sections, checked at start.

The variable names are a contract (DESIGN.md). Each section reads its own prefix, so the
settings stay small and a section can be handed to the code that needs only it.
"""

from __future__ import annotations

import logging
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.body_limit import DEFAULT_MAX_BODY_BYTES
from forge.invocation import IC_LABEL_PLACEHOLDER, normalise_app_id
from forge.jwks import DEFAULT_JWKS_URL

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ALLOWED_JIRA_HOSTS = ("*.atlassian.net", "*.jira.com", "*.jira-dev.com")


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names the variable and the fix."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class QuickBooksSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="W360_QBO_", extra="ignore")

    client_id: str | None = None
    client_secret: SecretStr | None = None
    environment: Literal["sandbox", "production"] = "sandbox"
    authorize_url: str | None = None
    token_url: str | None = None
    revoke_url: str | None = None
    api_base_url: str | None = None
    webhook_verifier_token: SecretStr | None = None
    # A sync's claim lapses this long after its process last beat (it beats every third of
    # it): a sync left by a dead process can be retried after it, and not before.
    sync_claim_stale_seconds: float = Field(default=30.0, ge=3.0, le=300.0)
    # Calls a minute to one company, summed over every process of the app (Intuit throttles
    # at 500; the margin is for clocks and for retries of throttled calls).
    calls_per_minute: int = Field(default=450, ge=1, le=500)
    # How long one call waits for Intuit's answer before it counts as lost (then retried
    # with the same requestid, so a create that landed meanwhile is not made twice).
    timeout_seconds: float = Field(default=30.0, ge=1.0, le=120.0)

    @field_validator(
        "client_id",
        "client_secret",
        "webhook_verifier_token",
        "authorize_url",
        "token_url",
        "revoke_url",
        "api_base_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `W360_QBO_WEBHOOK_VERIFIER_TOKEN=` (compose's `${VAR:-}`) must not become an empty
        # HMAC key that anyone can sign with: blank is unset.
        return None if isinstance(value, str) and not value.strip() else value

    # Intuit's endpoints (reference/quickbooks.md §1-2); OAuth is shared by both environments.
    @property
    def effective_authorize_url(self) -> str:
        return self.authorize_url or "https://appcenter.intuit.com/connect/oauth2"

    @property
    def effective_token_url(self) -> str:
        return self.token_url or "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"

    @property
    def effective_revoke_url(self) -> str:
        return self.revoke_url or "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"

    @property
    def effective_api_base_url(self) -> str:
        if self.api_base_url:
            return self.api_base_url.rstrip("/")
        if self.environment == "production":
            return "https://quickbooks.api.intuit.com"
        return "https://sandbox-quickbooks.api.intuit.com"


class ForgeSettings(BaseSettings):
    """The Forge door: unset `W360_FORGE_APP_ID` keeps it closed (no FIT is accepted)."""

    model_config = SettingsConfigDict(env_prefix="W360_FORGE_", extra="ignore")

    app_id: str | None = None
    jwks_url: str = DEFAULT_JWKS_URL
    # Isolated Cloud: the JWKS URL with `{IC_LABEL}`, handed out when the app is onboarded
    # to one. Unset: tokens from an Isolated Cloud are refused.
    ic_jwks_url_template: str | None = None

    @field_validator("app_id", "ic_jwks_url_template", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def enabled(self) -> bool:
        return self.app_id is not None

    @property
    def effective_app_id(self) -> str | None:
        """`ari:cloud:ecosystem::app/<uuid>`, however it was written (checked at start)."""
        return normalise_app_id(self.app_id) if self.app_id is not None else None

    def problems(self, *, production: bool) -> list[str]:
        found: list[str] = []
        if self.app_id is not None:
            try:
                normalise_app_id(self.app_id)
            except ValueError:
                found.append(
                    "W360_FORGE_APP_ID must be the Forge app's id, "
                    "ari:cloud:ecosystem::app/<uuid> (app.id in manifest.yml), "
                    f"got {self.app_id!r}."
                )
        for name, url in (
            ("W360_FORGE_JWKS_URL", self.jwks_url),
            ("W360_FORGE_IC_JWKS_URL_TEMPLATE", self.ic_jwks_url_template),
        ):
            if url is None:
                continue
            parts = urlsplit(url.replace(IC_LABEL_PLACEHOLDER, "label"))
            if parts.scheme not in ("http", "https") or not parts.netloc:
                found.append(f"{name} must be an absolute URL, got {url!r}.")
            elif production and parts.scheme != "https":
                found.append(f"{name} must use https in production.")
        template = self.ic_jwks_url_template
        if template is not None and IC_LABEL_PLACEHOLDER not in template:
            found.append(
                f"W360_FORGE_IC_JWKS_URL_TEMPLATE must contain {IC_LABEL_PLACEHOLDER} where the "
                "Isolated Cloud's label goes."
            )
        return found


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="W360_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    base_url: str = "http://localhost:8000"
    database_url: str = "sqlite:///./data/worklog360.db"
    secret_key: SecretStr | None = None
    # Keys that sealed secrets before W360_SECRET_KEY did (comma-separated): they still
    # open them until `worklog360 rotate-secrets` has re-sealed everything.
    secret_key_previous: SecretStr | None = None
    app_key: str = "com.worklog360.jira"
    app_name: str = "Worklog360"
    connect_install_keys_url: str = "https://connect-install-keys.atlassian.com"
    # Hosts a Jira site's baseUrl may have on install (ACE's allow-list). Development and
    # tests accept any host so a local Jira emulator can install the app.
    connect_allowed_jira_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    connect_all_js_url: str = "https://connect-cdn.atl-paas.net/all.js"
    auto_migrate: bool = True
    # Where background jobs run: "embedded" (in each web process, the default) or "worker"
    # (queued in PostgreSQL for `worklog360 worker` processes; see app.job_queue).
    jobs: Literal["embedded", "worker"] = "embedded"
    data_dir: Path = Path("./data")
    # Days a site's data is kept after the app is uninstalled through every door, so that a
    # reinstall (an admin's mistake, a renewal) finds everything; then it is purged.
    retention_days: int = Field(default=30, ge=1)
    # Days between two reports of an account to Atlassian's personal data reporting API
    # (Atlassian's default cycle period; it asks for no more often).
    personal_data_cycle_days: int = Field(default=7, ge=1)
    log_level: str = "INFO"
    # /metrics wants `Authorization: Bearer <token>` when set; unset, it is open in
    # development and closed (403) in production.
    metrics_token: SecretStr | None = None
    # /readyz with W360_JOBS=worker: some worker beat within this many seconds
    # (procrastinate beats every 10 s).
    ready_worker_heartbeat_seconds: float = 30.0
    # Request bodies above this are refused (413) before they are read, on every route.
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024)
    # PostgreSQL: connections each process keeps open, and how many more it may open in a
    # burst (SQLAlchemy's pool). SQLite keeps its own small pool per file.
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    qbo: QuickBooksSettings = Field(default_factory=QuickBooksSettings)
    forge: ForgeSettings = Field(default_factory=ForgeSettings)

    @field_validator("secret_key", "secret_key_previous", "metrics_token", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("connect_allowed_jira_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(h.strip() for h in value.split(",") if h.strip())
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def allowed_jira_hosts(self) -> tuple[str, ...]:
        if self.connect_allowed_jira_hosts:
            return self.connect_allowed_jira_hosts
        return DEFAULT_ALLOWED_JIRA_HOSTS if self.is_production else ("*",)

    @cached_property
    def effective_secret_key(self) -> str:
        """The configured key, or in development one generated once into the data folder."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.is_production:
            raise SettingsError("W360_SECRET_KEY must be set in production.")
        return _development_secret_key(self.data_dir)

    @property
    def previous_secret_keys(self) -> tuple[str, ...]:
        if self.secret_key_previous is None:
            return ()
        raw = self.secret_key_previous.get_secret_value()
        return tuple(k.strip() for k in raw.split(",") if k.strip())

    def check(self) -> None:
        """Refuse to start with settings that are wrong or unsafe, saying which and why."""
        problems: list[str] = []
        base = urlsplit(self.base_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            problems.append(f"W360_BASE_URL must be an absolute URL, got {self.base_url!r}.")
        elif self.is_production and base.scheme != "https":
            problems.append("W360_BASE_URL must use https in production (Jira requires it).")
        if not self.database_url.startswith(("sqlite:", "postgresql:", "postgres:")):
            problems.append(
                "W360_DATABASE_URL must start with sqlite:/// or postgresql://, "
                f"got {_redact_url(self.database_url)!r}."
            )
        if self.jobs == "worker" and not self.database_url.startswith(("postgresql:", "postgres:")):
            problems.append(
                "W360_JOBS=worker needs PostgreSQL (W360_DATABASE_URL=postgresql://…): the job "
                "queue lives in the database. Leave W360_JOBS unset to run jobs in the app."
            )
        problems += self.forge.problems(production=self.is_production)
        if self.is_production:
            if self.secret_key is None:
                problems.append("W360_SECRET_KEY must be set in production.")
            elif len(self.secret_key.get_secret_value()) < 32:
                problems.append("W360_SECRET_KEY must be at least 32 characters long.")
            if any(len(key) < 32 for key in self.previous_secret_keys):
                problems.append(
                    "Each key in W360_SECRET_KEY_PREVIOUS must be at least 32 characters long "
                    "(keys are separated by commas, so a key may not contain one)."
                )
            if "*" in self.allowed_jira_hosts:
                problems.append("W360_CONNECT_ALLOWED_JIRA_HOSTS may not be '*' in production.")
        if problems:
            raise SettingsError(" ".join(problems))


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _development_secret_key(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    logger.warning(
        "W360_SECRET_KEY is not set: generated one into %s. Keep that file: it decrypts the "
        "stored secrets. Set W360_SECRET_KEY in production.",
        path,
    )
    return key


def load_settings() -> Settings:
    settings = Settings()
    settings.check()
    return settings
