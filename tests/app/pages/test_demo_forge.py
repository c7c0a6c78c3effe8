"""`worklog360 demo --forge`: the same demo through the Forge door. The Forge app folder is
built into the data folder and deployed to the emulated Forge, the app's W360_FORGE_* point at
the emulator, the app is installed through Forge's lifecycle only (a site installs Worklog360
that way today), and the printed URL is Jira's page of the Forge global page, whose Custom UI
comes from the emulated CDN on another origin. `--with-connect` adds the Connect app to the
same site: one tenant through both doors. (The pages themselves: tests/browser/forge.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from app.demo import FORGE_APP_ID, DemoError, DemoInBackground, DemoOptions, run_demo


@pytest.fixture(scope="module")
def forge_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoInBackground]:
    options = DemoOptions(
        app_port=0,
        jira_port=0,
        qbo_port=0,
        data_dir=tmp_path_factory.mktemp("forge-demo"),
        worklogs=60,
        forge=True,
    )
    runner = DemoInBackground(options)
    runner.start()
    yield runner
    runner.stop()


def call(runner: DemoInBackground, method: str, path: str, **kwargs: Any) -> Any:
    response = runner.call(runner.demo.api(method, path, **kwargs))
    assert response.status_code < 300, response.text
    return response.json()


def test_the_forge_demo_installs_the_forge_app_only_through_forges_lifecycle(
    forge_demo: DemoInBackground,
) -> None:
    demo = forge_demo.demo
    assert demo.settings.forge.effective_app_id == FORGE_APP_ID
    assert demo.settings.forge.jwks_url == f"{demo.jira_url}/.well-known/jwks.json"
    installation = demo.jira.forge.installation(demo.site, demo.forge)
    assert installation is not None and installation.installed
    assert [d.event for d in demo.jira.forge.deliveries][:1] == ["avi:forge:installed:app"]
    assert demo.jira.forge.deliveries[0].delivered
    assert demo.site.installations == {}  # no Connect app
    # The app reached Jira through the api.atlassian.com stand-in, with the Forge tokens.
    assert demo.site.api_base_url.startswith(demo.jira_url + "/ex/jira/")
    assert demo.site.gateway_calls.total() > 0

    # Built as `worklog360 forge-app` builds it, with the demo's app as the remote.
    manifest = yaml.safe_load((demo.data_dir / "forge-app" / "manifest.yml").read_text())
    assert manifest["app"]["id"] == FORGE_APP_ID
    assert manifest["remotes"][0]["baseUrl"] == demo.app_url
    assert (demo.data_dir / "forge-app" / "static" / "pages" / "js" / "forge-bridge.js").exists()

    # The demo's data came in through the Forge door.
    assert {c["name"] for c in call(forge_demo, "GET", "/api/clients")["items"]} == set(
        demo.clients
    )
    assert call(forge_demo, "GET", "/api/sync/worklogs")["state"] == "succeeded"
    assert len(call(forge_demo, "GET", "/api/worklogs?limit=500")["items"]) == 60


def test_the_printed_url_is_the_forge_global_page_with_its_ui_on_another_origin(
    forge_demo: DemoInBackground,
) -> None:
    demo = forge_demo.demo
    url = demo.start_url
    app = demo.forge
    assert urlsplit(url).path == (
        f"/sites/acme/jira/apps/{app.uuid}/{app.environment_uuid}/worklogs"
    )
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200 and 'id="forge-frame-0"' in page.text
    frame_src = page.text.split('id="forge-frame-0"', 1)[1].split('src="', 1)[1].split('"')[0]
    frame_src = frame_src.replace("&amp;", "&")
    assert urlsplit(frame_src).hostname == "localhost"  # the site is 127.0.0.1
    assert urlsplit(frame_src).port == urlsplit(demo.jira_url).port
    ui = httpx.get(frame_src, timeout=10)
    assert ui.status_code == 200
    assert "/_forge/bridge-runtime.js" in ui.text
    assert "frame-ancestors http://127.0.0.1:" in ui.headers["content-security-policy"]


def test_with_connect_one_site_reaches_the_same_data_through_both_doors(
    tmp_path: Path,
) -> None:
    options = DemoOptions(
        app_port=0,
        jira_port=0,
        qbo_port=0,
        data_dir=tmp_path,
        worklogs=20,
        forge=True,
        with_connect=True,
    )
    runner = DemoInBackground(options)
    demo = runner.start()
    try:
        assert demo.connect_installed and demo.site.installations
        token = demo.site.context_token(demo.settings.app_key, demo.admin.account_id)
        through_connect = httpx.get(
            f"{demo.app_url}/api/clients", headers={"Authorization": f"JWT {token}"}, timeout=10
        ).json()
        through_forge = call(runner, "GET", "/api/clients")
        assert through_connect == through_forge
        assert {c["name"] for c in through_forge["items"]} == set(demo.clients)
    finally:
        runner.stop()


async def test_forge_needs_a_loopback_host() -> None:
    with pytest.raises(DemoError, match=re.escape("--host 127.0.0.1 or localhost")):
        await run_demo(DemoOptions(host="0.0.0.0", forge=True))  # noqa: S104
