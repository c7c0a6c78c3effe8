"""One definition of what Worklog360 adds to Jira, two front doors rendered from it: the
Connect descriptor stays exactly what existing sites installed, and the Forge manifest passes
Atlassian's own validator (`@forge/manifest`, the check `forge deploy` runs), offline."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.forge_app import ForgeAppError, manifest_text, write_manifest
from app.settings import PROJECT_ROOT
from app.surface import SURFACE, connect_descriptor, forge_manifest

APP_ID = "ari:cloud:ecosystem::app/8f4a9e3c-1a2b-4c5d-9e8f-0a1b2c3d4e5f"
REMOTE = "https://worklog360.example.com"
VALIDATOR = PROJECT_ROOT / "frontend" / "validate-manifest.js"


def validate(folder: Path) -> dict[str, Any]:
    """Atlassian's validation of the app folder, as `forge lint` runs it."""
    node = shutil.which("node")
    assert node, "Node.js is needed (scripts/test installs it)"
    done = subprocess.run(
        [node, str(VALIDATOR), str(folder)],
        cwd=PROJECT_ROOT / "frontend",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def app_folder(tmp_path: Path, manifest: str | None = None) -> Path:
    """An app folder with the manifest and a Custom UI folder (with its index.html) for each
    resource it names."""
    folder = tmp_path / "forge-app"
    folder.mkdir()
    (folder / "manifest.yml").write_text(manifest or manifest_text(REMOTE, APP_ID))
    for resource in yaml.safe_load((folder / "manifest.yml").read_text())["resources"]:
        ui = folder / resource["path"]
        ui.mkdir(parents=True)
        (ui / "index.html").write_text("<!doctype html><title>Worklog360</title>")
    return folder


def test_the_connect_descriptor_is_exactly_the_one_sites_installed() -> None:
    # Atlassian takes no Connect descriptor updates: the committed file is the contract.
    committed = json.loads((PROJECT_ROOT / "atlassian-connect.json").read_text())
    rendered = connect_descriptor(committed["baseUrl"], committed["key"])
    assert rendered == committed


def test_the_forge_manifest_passes_atlassians_validator(tmp_path: Path) -> None:
    result = validate(app_folder(tmp_path))
    assert result == {"success": True, "errors": []}


def _reused_key(manifest: dict[str, Any]) -> None:
    manifest["modules"]["scheduledTrigger"][0]["key"] = manifest["modules"]["trigger"][0]["key"]


def _no_runtime(manifest: dict[str, Any]) -> None:
    del manifest["app"]["runtime"]


@pytest.mark.parametrize(
    ("breakage", "words"),
    [(_reused_key, "worklog360-worklog-events"), (_no_runtime, "runtime")],
)
def test_the_validator_really_checks_a_broken_manifest(
    tmp_path: Path, breakage: Any, words: str
) -> None:
    broken = forge_manifest(REMOTE, APP_ID)
    breakage(broken)
    result = validate(app_folder(tmp_path, yaml.safe_dump(broken, sort_keys=False)))
    assert result["success"] is False
    assert words in " ".join(e["message"] for e in result["errors"])


def test_no_module_key_is_used_twice_across_module_types() -> None:
    modules = forge_manifest(REMOTE, APP_ID)["modules"]
    keys = [module["key"] for entries in modules.values() for module in entries]
    assert len(keys) == len(set(keys)), keys
    descriptor = connect_descriptor(REMOTE, "com.worklog360.jira")["modules"]
    connect_keys = [
        m["key"]
        for entries in descriptor.values()
        for m in (entries if isinstance(entries, list) else [entries])
        if "key" in m
    ]
    assert len(connect_keys) == len(set(connect_keys)), connect_keys


def test_both_doors_offer_the_same_pages_events_and_remote_routes() -> None:
    manifest = forge_manifest(REMOTE, APP_ID)
    modules = manifest["modules"]
    descriptor = connect_descriptor(REMOTE, "com.worklog360.jira")["modules"]
    # The guide's four screens: Connect general pages, Forge global page's subpages.
    connect_pages = [p["url"].removeprefix("/pages/") for p in descriptor["generalPages"]]
    forge_pages = [p["route"] for p in modules["jira:globalPage"][0]["pages"]]
    assert connect_pages == forge_pages == ["worklogs", "clients", "budgets", "invoices"]
    # Settings / Integrations is the admin page and the Configure page on both.
    assert descriptor["configurePage"]["url"] == "/pages/settings/integrations"
    assert modules["jira:adminPage"][0]["useAsConfig"] is True
    assert descriptor["jiraIssueGlances"][0]["content"]["label"]["value"] == "Billing"
    assert modules["jira:issueGlance"][0]["label"] == "Billing"
    # The same three worklog changes; Forge is also told of deleted issues (no worklog events).
    assert [w["event"] for w in descriptor["webhooks"]] == [
        "worklog_created",
        "worklog_updated",
        "worklog_deleted",
    ]
    assert modules["trigger"][0]["events"] == [
        "avi:jira:created:worklog",
        "avi:jira:updated:worklog",
        "avi:jira:deleted:worklog",
        "avi:jira:deleted:issue",
    ]
    # Every Forge call reaches this service at the contract's paths.
    routes = {e["key"]: e.get("route", {}).get("path") for e in modules["endpoint"]}
    assert set(routes.values()) == {
        None,  # the pages' resolver: invokeRemote names its path itself (/api/…)
        "/forge/events",
        "/forge/lifecycle",
        "/forge/scheduled",
        "/forge/uninstall",
    }
    assert manifest["remotes"] == [
        {
            "key": "worklog360",
            "baseUrl": REMOTE,
            "operations": ["storage", "compute"],
            "storage": {"inScopeEUD": True},
        }
    ]
    assert {"read:app-system-token", "read:app-user-token"} <= set(
        manifest["permissions"]["scopes"]
    )


def test_the_pages_navigate_by_the_surfaces_module_keys() -> None:
    assert SURFACE.page_modules() == {
        "worklogs": "worklog360-worklogs",
        "clients": "worklog360-clients",
        "budgets": "worklog360-budgets",
        "invoices": "worklog360-invoices",
        "settings": "worklog360-settings-integrations",
    }


@pytest.mark.parametrize(
    ("remote", "app_id", "words"),
    [
        ("http://worklog360.example.com", APP_ID, "https URL"),
        ("https://worklog360.example.com/?x=1", APP_ID, "https URL"),
        (REMOTE, "8f4a9e3c-1a2b-4c5d-9e8f-0a1b2c3d4e5f", "forge register prints it"),
        (REMOTE, APP_ID.upper(), "forge register prints it"),
    ],
)
def test_a_bad_remote_url_or_app_id_is_refused_and_nothing_is_written(
    tmp_path: Path, remote: str, app_id: str, words: str
) -> None:
    with pytest.raises(ForgeAppError, match=words):
        write_manifest(tmp_path / "out", remote, app_id)
    assert not (tmp_path / "out" / "manifest.yml").exists()


def test_forge_app_writes_a_deployable_folder_that_passes_the_validator(tmp_path: Path) -> None:
    out = tmp_path / "worklog360-forge"
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("worklog360")),
            "forge-app",
            "--out",
            str(out),
            "--remote-url",
            REMOTE,
            "--app-id",
            APP_ID,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert validate(out) == {"success": True, "errors": []}
    assert yaml.safe_load((out / "manifest.yml").read_text()) == forge_manifest(REMOTE, APP_ID)

    expected = {
        "static/pages": ["worklogs", "clients", "budgets", "invoices"],
        "static/settings": ["settings/integrations"],
        "static/glance": ["issue-glance"],
    }
    for folder, pages in expected.items():
        index = (out / folder / "index.html").read_text()
        assert re.findall(r'<template data-page="([^"]+)"', index) == pages
        # Forge hosts the folder: every script and style is in it, by a relative URL.
        for url in re.findall(r'(?:src|href)="([^"]+)"', index):
            assert url.startswith("./"), url
            assert (out / folder / url).is_file(), url
        assert "http://" not in index and "https://" not in index
        bridge = (out / folder / "js" / "forge-bridge.js").read_text()
        assert "window.ForgeBridge" in bridge or "ForgeBridge=" in bridge
        # The Connect door's scripts are not in the Forge bundle's pages.
        assert "all.js" not in index
        # Forge's CSP blocks inline styles and scripts: none in the markup.
        assert not re.search(r"\sstyle=|<style|<script>|\son[a-z]+=", index)
        # Every resource can send people to the global page's subpages.
        assert 'data-global-page="worklog360-app"' in index
        assert 'data-routes="worklogs clients budgets invoices"' in index
        assert ('data-history="true"' in index) == (folder == "static/pages")
    # The Clients page picks its currency from ISO 4217, as at the Connect door.
    pages = (out / "static/pages/index.html").read_text()
    assert '<option value="EUR">EUR \u2013 Euro</option>' in pages


def test_a_remote_on_this_machine_is_taken_over_http_only_when_asked(tmp_path: Path) -> None:
    with pytest.raises(ForgeAppError, match="remote base URL"):
        manifest_text("http://127.0.0.1:8000", APP_ID)
    text = manifest_text("http://127.0.0.1:8000", APP_ID, loopback=True)
    assert yaml.safe_load(text)["remotes"][0]["baseUrl"] == "http://127.0.0.1:8000"
    with pytest.raises(ForgeAppError, match="remote base URL"):
        manifest_text("http://worklog360.example.com", APP_ID, loopback=True)


def test_forge_app_refuses_a_bad_app_id_in_words(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("worklog360")),
            "forge-app",
            "--out",
            str(tmp_path / "out"),
            "--remote-url",
            REMOTE,
            "--app-id",
            "my-app",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "'my-app' is not a Forge app id" in done.stderr
    assert not (tmp_path / "out").exists()
