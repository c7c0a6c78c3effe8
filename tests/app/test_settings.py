"""Settings come from the W360_* variables and unsafe ones stop the app with a clear message."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.cli import main
from app.settings import Settings, SettingsError, load_settings


def test_variables_named_in_the_design_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("W360_ENV", "production")
    monkeypatch.setenv("W360_BASE_URL", "https://w360.example.com/")
    monkeypatch.setenv("W360_DATABASE_URL", "postgresql://u:p@db/w360")
    monkeypatch.setenv("W360_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("W360_APP_KEY", "com.example.w360")
    monkeypatch.setenv("W360_CONNECT_INSTALL_KEYS_URL", "https://keys.example.com")
    monkeypatch.setenv("W360_QBO_CLIENT_ID", "client")
    monkeypatch.setenv("W360_QBO_CLIENT_SECRET", "shh")
    monkeypatch.setenv("W360_QBO_ENVIRONMENT", "production")
    monkeypatch.setenv("W360_QBO_API_BASE_URL", "https://qbo.example.com")
    monkeypatch.setenv("W360_QBO_WEBHOOK_VERIFIER_TOKEN", "verifier")
    monkeypatch.setenv("W360_AUTO_MIGRATE", "false")
    settings = load_settings()
    assert settings.is_production
    assert settings.base_url == "https://w360.example.com"
    assert settings.database_url == "postgresql://u:p@db/w360"
    assert settings.app_key == "com.example.w360"
    assert settings.connect_install_keys_url == "https://keys.example.com"
    assert settings.qbo.client_id == "client"
    assert settings.qbo.client_secret is not None
    assert settings.qbo.client_secret.get_secret_value() == "shh"
    assert settings.qbo.environment == "production"
    assert settings.qbo.api_base_url == "https://qbo.example.com"
    assert settings.auto_migrate is False
    assert "shh" not in repr(settings) and "k" * 40 not in repr(settings)


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.env == "development"
    assert settings.base_url == "http://localhost:8000"
    assert settings.database_url == "sqlite:///./data/worklog360.db"
    assert settings.app_key == "com.worklog360.jira"
    assert settings.connect_install_keys_url == "https://connect-install-keys.atlassian.com"
    assert settings.qbo.environment == "sandbox"
    assert settings.auto_migrate is True


def test_production_refuses_an_http_base_url() -> None:
    settings = Settings(env="production", base_url="http://w360.example.com", secret_key="k" * 40)
    with pytest.raises(SettingsError, match="W360_BASE_URL must use https"):
        settings.check()


def test_production_refuses_a_missing_secret_key() -> None:
    settings = Settings(env="production", base_url="https://w360.example.com")
    with pytest.raises(SettingsError, match="W360_SECRET_KEY must be set"):
        settings.check()
    with pytest.raises(SettingsError, match="W360_SECRET_KEY must be set"):
        _ = settings.effective_secret_key


def test_production_refuses_a_short_secret_key() -> None:
    settings = Settings(env="production", base_url="https://w360.example.com", secret_key="short")
    with pytest.raises(SettingsError, match="at least 32 characters"):
        settings.check()


def test_production_refuses_to_accept_installs_from_any_host() -> None:
    settings = Settings(
        env="production",
        base_url="https://w360.example.com",
        secret_key="k" * 40,
        connect_allowed_jira_hosts="*",
    )
    with pytest.raises(SettingsError, match="may not be"):
        settings.check()


def test_production_accepts_only_atlassian_hosts_by_default() -> None:
    settings = Settings(env="production", base_url="https://w360.example.com", secret_key="k" * 40)
    settings.check()
    assert settings.allowed_jira_hosts == ("*.atlassian.net", "*.jira.com", "*.jira-dev.com")


def test_unknown_database_scheme_is_named_without_its_password() -> None:
    settings = Settings(database_url="mysql://root:hunter2@db/x")
    with pytest.raises(SettingsError, match="W360_DATABASE_URL") as caught:
        settings.check()
    assert "hunter2" not in str(caught.value)


def test_development_generates_a_secret_key_once_into_the_data_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = Settings(data_dir=tmp_path).effective_secret_key
    second = Settings(data_dir=tmp_path).effective_secret_key
    assert first == second and len(first) >= 32
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "W360_SECRET_KEY is not set" in caplog.text
    assert first not in caplog.text


def test_cli_reports_a_configuration_error_instead_of_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("W360_ENV", "production")
    monkeypatch.setenv("W360_BASE_URL", "http://insecure.example.com")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "https" in err


# --- the Forge door ----------------------------------------------------------------------------


def test_the_forge_door_is_closed_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("W360_FORGE_APP_ID", "W360_FORGE_JWKS_URL", "W360_FORGE_IC_JWKS_URL_TEMPLATE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert not settings.forge.enabled
    assert settings.forge.effective_app_id is None
    assert (
        settings.forge.jwks_url == "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
    )
    assert settings.forge.ic_jwks_url_template is None


def test_forge_variables_are_read_and_the_app_id_normalised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("W360_FORGE_APP_ID", "8DB33809-1f32-48bb-8c52-5877dab48107")
    monkeypatch.setenv("W360_FORGE_JWKS_URL", "https://keys.example.com/jwks.json")
    monkeypatch.setenv(
        "W360_FORGE_IC_JWKS_URL_TEMPLATE", "https://keys.{IC_LABEL}.example.com/jwks.json"
    )
    settings = load_settings()
    assert settings.forge.enabled
    assert (
        settings.forge.effective_app_id
        == "ari:cloud:ecosystem::app/8db33809-1f32-48bb-8c52-5877dab48107"
    )
    assert settings.forge.jwks_url == "https://keys.example.com/jwks.json"
    assert settings.forge.ic_jwks_url_template == "https://keys.{IC_LABEL}.example.com/jwks.json"


def test_an_empty_forge_app_id_leaves_the_door_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("W360_FORGE_APP_ID", "  ")
    assert not load_settings().forge.enabled


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("W360_FORGE_APP_ID", "my-forge-app", "W360_FORGE_APP_ID must be the Forge app's id"),
        ("W360_FORGE_JWKS_URL", "forge-keys.json", "W360_FORGE_JWKS_URL must be an absolute URL"),
        (
            "W360_FORGE_IC_JWKS_URL_TEMPLATE",
            "https://keys.example.com/jwks.json",
            "must contain {IC_LABEL}",
        ),
    ],
)
def test_a_wrong_forge_setting_stops_the_app_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message.replace("{", r"\{").replace("}", r"\}")):
        load_settings()


def test_production_wants_forge_keys_over_https() -> None:
    settings = Settings(
        env="production",
        base_url="https://w360.example.com",
        secret_key="k" * 40,
        connect_allowed_jira_hosts=("*.atlassian.net",),
        forge={"jwks_url": "http://keys.example.com/jwks.json"},
    )
    with pytest.raises(SettingsError, match="W360_FORGE_JWKS_URL must use https in production"):
        settings.check()


def test_blank_secrets_as_compose_leaves_them_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """compose.yaml passes `${VAR:-}`: an empty webhook verifier token must not become an
    HMAC key anyone can sign with, nor an empty metrics token or previous key a real one."""
    for name in (
        "W360_QBO_WEBHOOK_VERIFIER_TOKEN",
        "W360_QBO_CLIENT_ID",
        "W360_QBO_CLIENT_SECRET",
        "W360_METRICS_TOKEN",
        "W360_SECRET_KEY_PREVIOUS",
    ):
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert settings.qbo.webhook_verifier_token is None
    assert settings.qbo.client_id is None and settings.qbo.client_secret is None
    assert settings.metrics_token is None
    assert settings.previous_secret_keys == ()


def test_production_refuses_a_short_previous_secret_key() -> None:
    settings = Settings(
        env="production",
        base_url="https://app.example.com",
        secret_key="x" * 40,
        secret_key_previous="y" * 40 + ",short",
    )
    with pytest.raises(
        SettingsError, match="Each key in W360_SECRET_KEY_PREVIOUS must be at least"
    ):
        settings.check()
