"""The served descriptor is valid for Jira and points at routes that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from connect.descriptor import relative_urls, validate_descriptor
from tests.support.apps import make_settings, running_app


@pytest.fixture
async def descriptor(tmp_path: Path) -> dict[str, Any]:
    settings = make_settings(f"sqlite:///{tmp_path}/d.db", tmp_path, app_key="com.example.w360")
    async with running_app(settings) as (_app, client):
        response = await client.get("/atlassian-connect.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def test_base_url_and_key_come_from_settings(descriptor: dict[str, Any]) -> None:
    assert descriptor["baseUrl"] == "https://worklog360.test"
    assert descriptor["key"] == "com.example.w360"


def test_descriptor_passes_connect_rules(descriptor: dict[str, Any]) -> None:
    assert validate_descriptor(descriptor, require_https=True) == []


def test_authentication_migrations_scopes_and_lifecycle(descriptor: dict[str, Any]) -> None:
    assert descriptor["authentication"] == {"type": "jwt"}
    assert descriptor["apiMigrations"] == {
        "signed-install": True,
        "context-qsh": True,
        "gdpr": True,
    }
    assert sorted(descriptor["scopes"]) == ["READ", "WRITE"]
    assert descriptor["lifecycle"] == {
        "installed": "/lifecycle/installed",
        "uninstalled": "/lifecycle/uninstalled",
        "enabled": "/lifecycle/enabled",
        "disabled": "/lifecycle/disabled",
    }


def test_worklog_webhooks_go_to_one_route(descriptor: dict[str, Any]) -> None:
    hooks = {(h["event"], h["url"]) for h in descriptor["modules"]["webhooks"]}
    assert hooks == {
        ("worklog_created", "/webhooks/jira/worklog"),
        ("worklog_updated", "/webhooks/jira/worklog"),
        ("worklog_deleted", "/webhooks/jira/worklog"),
    }


def test_the_guides_pages_are_modules(descriptor: dict[str, Any]) -> None:
    general = {p["url"] for p in descriptor["modules"]["generalPages"]}
    assert general == {"/pages/worklogs", "/pages/clients", "/pages/budgets", "/pages/invoices"}
    admin = {p["url"] for p in descriptor["modules"]["adminPages"]}
    assert admin == {"/pages/settings/integrations"}
    names = " ".join(p["name"]["value"] for p in descriptor["modules"]["generalPages"])
    assert "Clients" in names and "Invoices" in names
    assert descriptor["modules"]["jiraIssueGlances"][0]["target"]["url"].startswith(
        "/pages/issue-glance"
    )


async def test_every_url_jira_will_call_is_a_route(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/d.db", tmp_path)
    async with running_app(settings) as (_app, client):
        descriptor = (await client.get("/atlassian-connect.json")).json()
        for url in relative_urls(descriptor):
            path = urlsplit(url).path
            method = "POST" if path.startswith(("/lifecycle", "/webhooks")) else "GET"
            response = await client.request(method, path)
            # Unauthenticated, every route must exist and refuse: never 404/405/500.
            assert response.status_code in (401, 422), (url, response.status_code)
        icon = await client.get(descriptor["modules"]["jiraIssueGlances"][0]["icon"]["url"])
        assert icon.status_code == 200


def test_validator_catches_the_mistakes_jira_rejects() -> None:
    bad = {
        "key": "bad key!",
        "baseUrl": "ftp://x",
        "authentication": {"type": "none"},
        "lifecycle": {"installed": "lifecycle/installed", "upgraded": "/x"},
        "scopes": ["READ", "EVERYTHING"],
        "modules": {
            "generalPages": [
                {"key": "dup", "name": {"value": "A"}, "url": "/a"},
                {"key": "dup", "name": {"value": "B"}, "url": "b"},
                {"key": "under_score", "name": {"value": "C"}},
            ],
            "webhooks": [{"event": "worklog_created"}],
        },
    }
    problems = "\n".join(validate_descriptor(bad, require_https=True))
    for expected in (
        "app key",
        "baseUrl must be an absolute",
        "authentication.type",
        "unknown lifecycle event 'upgraded'",
        "lifecycle.installed must be a path",
        "unknown scopes ['EVERYTHING']",
        "used twice",
        "alphanumerics and dashes",
        "needs a url",
        "every webhook needs",
        "'b' must be relative",
    ):
        assert expected in problems, expected
