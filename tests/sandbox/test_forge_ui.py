"""The emulated Jira shows a Forge app's Custom UI as Jira and Forge's hosting do: Jira's page
URLs for the modules with Jira's chrome and the subpages in its sidebar, the resource from
Forge's CDN on another origin (the bridge runtime injected first, Custom UI's CSP on it), and
the bridge calls that leave the browser (invokeRemote, requestJira) held to Forge's contract.

The app here is a hand-written manifest and two small files, deployed as `forge deploy` would;
its remote is a few lines of Starlette answering what each test tells it to."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.jira import ForgeApp, JiraSandbox, SandboxClock, Site
from sandbox.jira import forge as forge_module
from sandbox.jira.forge_ui import RUNTIME_PATH, module_path
from sandbox.jira.host import SESSION_HEADER, issue_session
from tests.sandbox.conftest import NOW_MS, SITE_URL

APP_ID = "ari:cloud:ecosystem::app/0c5e1f2a-3b4c-4d5e-8f90-a1b2c3d4e5f6"
REMOTE = "https://remote.example"
CDN = "https://cdn.forge-sandbox.test"
MANIFEST = f"""
app:
  id: {APP_ID}
  runtime: {{name: nodejs22.x}}
modules:
  jira:globalPage:
    - key: timesheets
      resource: main
      resolver: {{endpoint: ui}}
      title: Timesheets
      layout: blank
      pages:
        - {{title: This week, route: week}}
        - {{title: Reports, route: reports}}
  jira:adminPage:
    - key: timesheets-config
      resource: settings
      resolver: {{endpoint: ui}}
      title: Timesheets settings
      useAsConfig: true
  jira:issueGlance:
    - key: timesheets-glance
      resource: glance
      resolver: {{endpoint: ui}}
      title: Timesheets
      label: Time
  trigger:
    - {{key: life, endpoint: life-remote, events: [avi:forge:installed:app]}}
  endpoint:
    - key: ui
      remote: backend
      auth: {{appUserToken: {{enabled: true}}, appSystemToken: {{enabled: true}}}}
    - key: life-remote
      remote: backend
      route: {{path: /forge/lifecycle}}
      auth: {{appSystemToken: {{enabled: true}}}}
resources:
  - {{key: main, path: static/main}}
  - {{key: settings, path: static/settings}}
  - {{key: glance, path: static/glance}}
remotes:
  - {{key: backend, baseUrl: {REMOTE}, operations: [compute]}}
permissions:
  scopes: [read:app-system-token, read:app-user-token, read:jira-work, write:jira-work]
"""
INDEX = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <script src="./app.js"></script>
</head>
<body><main id="main"></main></body>
</html>
"""


@dataclass
class Remote:
    """The app's backend: answers each call with the next of `answers` (status, headers,
    body), then 204; records what Forge sent."""

    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    received: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        self.received.append(
            (request.method, request.url.path, dict(request.headers), await request.body())
        )
        if not self.answers:
            return Response(status_code=204)
        status, headers, body = self.answers.pop(0)
        return Response(body, status_code=status, headers=headers)

    @property
    def asgi(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=methods)])


@dataclass
class UiWorld:
    sandbox: JiraSandbox
    site: Site
    app: ForgeApp
    remote: Remote
    jira: httpx.AsyncClient  # a browser on the Jira site
    cdn: httpx.AsyncClient  # a browser on Forge's CDN

    def session(self, account_id: str = "user-grace") -> dict[str, str]:
        return {SESSION_HEADER: issue_session(self.site, account_id)}

    async def invoke(
        self, path: str, method: str = "GET", body: Any = None, account_id: str = "user-grace"
    ) -> dict[str, Any]:
        """What the Jira page asks the emulator when the iframe calls invokeRemote."""
        response = await self.jira.post(
            "/_forge/invoke",
            headers=self.session(account_id),
            json={
                "appId": self.app.app_id,
                "moduleKey": "timesheets",
                "localId": "local-1",
                "extension": {"location": f"{SITE_URL}/jira/apps/x/y/week"},
                "input": {"path": path, "method": method, "body": body},
            },
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


def app_folder(root: Path, manifest: str = MANIFEST) -> Path:
    folder = root / "timesheets"
    (folder / "manifest.yml").parent.mkdir(parents=True)
    (folder / "manifest.yml").write_text(manifest)
    for name in ("main", "settings", "glance"):
        (folder / "static" / name).mkdir(parents=True)
        (folder / "static" / name / "index.html").write_text(INDEX)
        (folder / "static" / name / "app.js").write_text("document.title = 'Timesheets';\n")
    (root / "secret.txt").write_text("not part of the app")
    return folder


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[UiWorld]:
    remote = Remote()
    to_remote = httpx.AsyncClient(transport=httpx.ASGITransport(app=remote.asgi))
    sandbox = JiraSandbox(http=to_remote, clock=SandboxClock(NOW_MS), forge_cdn_url=CDN)
    site = sandbox.add_site(SITE_URL)
    site.add_user("Ada Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    site.add_user("Grace Okafor", account_id="user-grace")
    site.add_project("ACME", "Acme web shop")
    site.add_issue("ACME", "Checkout fails")
    app = sandbox.forge.deploy(app_folder(tmp_path))
    sandbox.forge.new_installation(site, app, installer_account_id="user-admin")
    transport = httpx.ASGITransport(app=sandbox.app)
    jira = httpx.AsyncClient(transport=transport, base_url=SITE_URL)
    cdn = httpx.AsyncClient(transport=transport, base_url=CDN)
    yield UiWorld(sandbox, site, app, remote, jira, cdn)
    for client in (jira, cdn, to_remote):
        await client.aclose()
    await sandbox.aclose()


def iframe_src(html: str, frame_id: str = "forge-frame-0") -> str:
    match = re.search(rf'<iframe id="{frame_id}"[^>]*\b(?:data-)?src="([^"]+)"', html)
    assert match, html
    return match.group(1).replace("&amp;", "&")


# --- deploying --------------------------------------------------------------------------------


def test_deploying_reads_the_modules_resources_and_endpoints_off_the_manifest(
    world: UiWorld,
) -> None:
    app = world.app
    assert app.app_id == APP_ID and app.remote_base_url == REMOTE
    assert [(m.type, m.key) for m in app.ui_modules] == [
        ("jira:globalPage", "timesheets"),
        ("jira:adminPage", "timesheets-config"),
        ("jira:issueGlance", "timesheets-glance"),
    ]
    assert app.ui_modules[0].pages == (("This week", "week"), ("Reports", "reports"))
    assert app.ui_modules[1].use_as_config and app.ui_modules[2].label == "Time"
    assert app.lifecycle_path == "/forge/lifecycle" and app.events_path is None
    assert app.app_user_token and app.app_system_token
    assert set(app.resources) == {"main", "settings", "glance"}


# --- Jira's pages ------------------------------------------------------------------------------


async def test_the_global_page_lives_at_jiras_url_with_its_subpages_in_the_sidebar(
    world: UiWorld,
) -> None:
    base = f"/jira/apps/{world.app.uuid}/{world.app.environment_uuid}"
    assert module_path(world.site, world.app, world.app.ui_modules[0]) == base
    page = await world.jira.get(f"{base}/reports", params={"as": "user-grace"})
    assert page.status_code == 200
    html = page.text
    assert "<title>Reports - Timesheets - Jira</title>" in html
    assert 'aria-current="page">Reports</a>' in html
    assert f'href="{base}/week?as=user-grace"' in html
    assert "Configure Worklog360" in html or "Configure " in html  # Manage apps' Configure
    assert "selected>Grace Okafor</option>" in html

    src = iframe_src(html)
    assert src.startswith(f"{CDN}/{world.app.uuid}/{world.app.environment_uuid}/main/index.html")
    assert "hostOrigin=https%3A%2F%2Facme.atlassian.net" in src
    frame = re.search(r'<iframe id="forge-frame-0"[^>]*>', html)
    assert frame is not None
    # custom-ui/iframe: no allow-popups, no allow-top-navigation.
    assert (
        'sandbox="allow-downloads allow-forms allow-modals allow-pointer-lock '
        'allow-same-origin allow-scripts"' in frame.group(0)
    )
    config = json.loads(
        re.search(r'<script id="forge-config" type="application/json">(.*?)</script>', html, re.S)
        .group(1)  # type: ignore[union-attr]
        .replace("<\\/", "</")
    )
    context = config["frames"]["forge-frame-0"]["context"]
    assert context["accountId"] == "user-grace" and context["cloudId"] == world.site.cloud_id
    assert context["moduleKey"] == "timesheets" and context["siteUrl"] == SITE_URL
    assert context["extension"]["type"] == "jira:globalPage"
    assert config["frames"]["forge-frame-0"]["historyBase"] == base
    assert config["modules"] == {
        "timesheets": base,
        "timesheets-config": (
            f"/jira/settings/apps/configure/{world.app.uuid}/{world.app.environment_uuid}"
        ),
    }

    assert (await world.jira.get(f"{base}/no-such-page")).status_code == 404
    other = f"/jira/apps/{world.app.uuid}/00000000-0000-4000-8000-000000000000"
    assert (await world.jira.get(other)).status_code == 404


async def test_the_configure_page_and_the_issue_glance_show_their_own_resources(
    world: UiWorld,
) -> None:
    ids = f"{world.app.uuid}/{world.app.environment_uuid}"
    configure = await world.jira.get(f"/jira/settings/apps/configure/{ids}")
    assert configure.status_code == 200
    assert "/settings/index.html" in iframe_src(configure.text)

    issue = await world.jira.get("/browse/ACME-1")
    assert issue.status_code == 200
    assert "Checkout fails" in issue.text
    assert re.search(r'<button[^>]*class="glance-button"[^>]*>.*Time</button>', issue.text)
    # The glance loads when its panel opens.
    assert 'data-src="' in issue.text and "/glance/index.html" in iframe_src(issue.text)
    config = issue.text.split('type="application/json">', 1)[1].split("</script>", 1)[0]
    extension = json.loads(config)["frames"]["forge-frame-0"]["context"]["extension"]
    assert extension["type"] == "jira:issueGlance"
    assert extension["issue"]["key"] == "ACME-1" and extension["project"]["key"] == "ACME"
    assert (await world.jira.get("/browse/ACME-99")).status_code == 404


async def test_a_site_without_the_app_shows_none_of_its_pages(world: UiWorld) -> None:
    other = world.sandbox.add_site("https://globex.atlassian.net")
    other.add_user("Hank", account_id="user-hank")
    path = module_path(other, world.app, world.app.ui_modules[0])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=world.sandbox.app), base_url=other.base_url
    ) as globex:
        assert (await globex.get(path)).status_code == 404


# --- Forge's CDN --------------------------------------------------------------------------------


async def test_the_resource_comes_from_the_cdn_with_the_bridge_runtime_first_and_the_csp(
    world: UiWorld,
) -> None:
    page = await world.jira.get(f"/jira/apps/{world.app.uuid}/{world.app.environment_uuid}")
    src = iframe_src(page.text)
    assert not src.startswith(SITE_URL)
    index = await world.cdn.get(src.removeprefix(CDN))
    assert index.status_code == 200
    head = index.text.split("<head>", 1)[1]
    # Before anything of the app's: @forge/bridge looks the bridge up as it loads.
    assert head.startswith(
        f'<script src="{RUNTIME_PATH}" data-host-origin="https://acme.atlassian.net"></script>'
    )
    assert head.index(RUNTIME_PATH) < head.index("./app.js")
    csp = dict(
        part.strip().split(" ", 1) for part in index.headers["content-security-policy"].split(";")
    )
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'" and csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "https://acme.atlassian.net"

    script = await world.cdn.get(src.removeprefix(CDN).replace("index.html", "app.js"))
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    runtime = await world.cdn.get(RUNTIME_PATH)
    assert runtime.status_code == 200 and "globalThis.__bridge" in runtime.text

    # Framed by a site without the app: not shown. Outside the resource: nothing.
    elsewhere = src.removeprefix(CDN).replace("acme.atlassian.net", "evil.example")
    assert (await world.cdn.get(elsewhere)).status_code == 403
    prefix = f"/{world.app.uuid}/{world.app.environment_uuid}/main/"
    assert (await world.cdn.get(prefix + "..%2F..%2F..%2Fsecret.txt")).status_code == 404
    assert (await world.cdn.get(prefix + "missing.js")).status_code == 404
    # The CDN is its own origin: the site does not serve the resource.
    assert (await world.jira.get(src.removeprefix(CDN))).status_code == 404


async def test_the_manifests_content_permissions_loosen_the_csp(tmp_path: Path) -> None:
    manifest = MANIFEST.replace(
        "permissions:\n", "permissions:\n  content: {styles: [unsafe-inline], scripts: ['blob:']}\n"
    )
    sandbox = JiraSandbox(forge_cdn_url=CDN)
    site = sandbox.add_site(SITE_URL)
    app = sandbox.forge.deploy(app_folder(tmp_path, manifest))
    sandbox.forge.new_installation(site, app)
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=CDN) as cdn:
        index = await cdn.get(
            f"/{app.uuid}/{app.environment_uuid}/main/index.html",
            params={"hostOrigin": "https://acme.atlassian.net"},
        )
    csp = index.headers["content-security-policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp and "script-src 'self' blob:" in csp
    await sandbox.aclose()


# --- invokeRemote ---------------------------------------------------------------------------------


async def test_invoke_calls_the_remote_as_forge_does_for_the_signed_in_person(
    world: UiWorld,
) -> None:
    world.remote.answers.append(
        (200, {"content-type": "application/json", "x-total": "3"}, b'{"items": [1, 2, 3]}')
    )
    answer = await world.invoke("/api/things?page=2", "POST", {"name": "Zoë"})
    assert answer == {
        "ok": True,
        "payload": {
            "status": 200,
            "headers": {
                "content-length": ["20"],
                "content-type": ["application/json"],
                "x-total": ["3"],
            },
            "body": {"items": [1, 2, 3]},
        },
    }
    [(method, path, headers, body)] = world.remote.received
    assert (method, path, json.loads(body)) == ("POST", "/api/things", {"name": "Zoë"})
    fit = jwt.decode(
        headers["authorization"].removeprefix("Bearer "), options={"verify_signature": False}
    )
    assert fit["principal"] == "user-grace"
    assert fit["context"]["cloudId"] == world.site.cloud_id
    assert fit["context"]["siteUrl"] == SITE_URL
    assert fit["context"]["moduleKey"] == "timesheets" and fit["context"]["localId"] == "local-1"
    assert fit["context"]["extension"]["type"] == "jira:globalPage"
    assert fit["app"]["module"] == {"type": "jira:globalPage", "key": "timesheets"}
    assert headers["x-forge-oauth-system"]
    user = jwt.decode(headers["x-forge-oauth-user"], options={"verify_signature": False})
    assert user["sub"] == "user-grace"


@pytest.mark.parametrize(
    ("status", "headers", "body", "answer"),
    [
        (204, {}, b"", {"ok": True, "payload": {"status": 204, "headers": {}}}),
        (
            409,
            {"content-type": "application/json"},
            b'{"error": {"code": "taken"}}',
            {"status": 409, "body": {"error": {"code": "taken"}}},
        ),
        (
            401,
            {"content-type": "application/json"},
            b'{"error": {"code": "bad_signature"}}',
            "Remote could not verify the Forge Invocation Token",
        ),
        (
            500,
            {"content-type": "text/html"},
            b"<h1>Oops</h1>",
            "Invalid response from remote - content-type header must be set to "
            "application/json and is currently: text/html. Status: 500.",
        ),
        (502, {}, b"", "Invalid response from remote - cannot parse body as JSON. Status: 502."),
        (
            200,
            {"content-type": "application/json"},
            b"{not json",
            "Invalid response from remote - cannot parse body as JSON. Status: 200.",
        ),
    ],
    ids=["no content", "an error with its JSON", "401", "not JSON", "no body", "bad JSON"],
)
async def test_the_remotes_answer_is_held_to_invokeremotes_contract(
    world: UiWorld, status: int, headers: dict[str, str], body: bytes, answer: Any
) -> None:
    world.remote.answers.append((status, headers, body))
    got = await world.invoke("/api/things")
    if isinstance(answer, str):
        assert got == {"ok": False, "message": answer}
    elif "ok" in answer:
        assert got == answer
    else:
        assert got["ok"] is True
        assert got["payload"]["status"] == answer["status"]
        assert got["payload"]["body"] == answer["body"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


async def test_a_remote_that_does_not_answer_in_time_or_at_all_rejects(
    tmp_path: Path, silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forge_module, "UI_TIMEOUT_SECONDS", 0.3)
    for remote, message in (
        (f"http://127.0.0.1:{silent_port}", "Remote invocation timed out after 0.3 seconds"),
        (
            f"http://127.0.0.1:{_closed_port()}",
            "Invalid response from remote - remote network error",
        ),
    ):
        sandbox = JiraSandbox()  # a real HTTP client to the remote
        site = sandbox.add_site(SITE_URL)
        site.add_user("Grace Okafor", account_id="user-grace")
        folder = app_folder(tmp_path / str(len(message)), MANIFEST.replace(REMOTE, remote))
        app = sandbox.forge.deploy(folder)
        sandbox.forge.new_installation(site, app)
        transport = httpx.ASGITransport(app=sandbox.app)
        async with httpx.AsyncClient(transport=transport, base_url=SITE_URL) as jira:
            response = await jira.post(
                "/_forge/invoke",
                headers={SESSION_HEADER: issue_session(site, "user-grace")},
                json={"appId": app.app_id, "moduleKey": "timesheets", "input": {"path": "/x"}},
            )
        assert response.json() == {"ok": False, "message": message}
        await sandbox.aclose()


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


async def test_bridge_calls_need_a_jira_session_and_a_module_of_the_app(world: UiWorld) -> None:
    call = {"appId": APP_ID, "moduleKey": "timesheets", "input": {"path": "/x"}}
    assert (await world.jira.post("/_forge/invoke", json=call)).status_code == 401
    other = {**call, "moduleKey": "someone-elses"}
    refused = await world.jira.post("/_forge/invoke", headers=world.session(), json=other)
    assert refused.status_code == 400
    unknown = {**call, "appId": "ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000"}
    assert (
        await world.jira.post("/_forge/invoke", headers=world.session(), json=unknown)
    ).status_code == 404
    assert world.remote.received == []


# --- requestJira ----------------------------------------------------------------------------------


async def test_request_jira_acts_as_the_person_through_the_api_gateway(world: UiWorld) -> None:
    async def product(rest_path: str, init: dict[str, Any]) -> dict[str, Any]:
        response = await world.jira.post(
            "/_forge/product",
            headers=world.session("user-grace"),
            json={"appId": APP_ID, "product": "jira", "restPath": rest_path, "init": init},
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    me = await product(
        "/rest/api/3/myself", {"method": "GET", "headers": [["accept", "application/json"]]}
    )
    assert me["status"] == 200 and json.loads(me["body"])["accountId"] == "user-grace"
    logged = await product(
        "/rest/api/3/issue/ACME-1/worklog",
        {
            "method": "POST",
            "headers": [["content-type", "application/json"]],
            "body": json.dumps(
                {"started": "2026-11-02T09:00:00.000+0000", "timeSpentSeconds": 3600}
            ),
        },
    )
    assert logged["status"] == 201
    worklog = world.site.worklogs[json.loads(logged["body"])["id"]]
    assert worklog.author_id == "user-grace"  # the person's, not the app's
    assert world.site.gateway_calls.total() >= 2

    missing = await product("/rest/api/3/issue/ACME-404", {"method": "GET"})
    assert missing["status"] == 404 and "errorMessages" in missing["body"]
    refused = await world.jira.post(
        "/_forge/product",
        headers=world.session(),
        json={"appId": APP_ID, "restPath": "https://elsewhere.example/", "init": {}},
    )
    assert refused.status_code == 400


async def test_the_gateway_and_cdn_answer_on_their_own_hosts_only(world: UiWorld) -> None:
    # api.atlassian.com's routes are not the CDN's.
    gateway = await world.cdn.get(f"/ex/jira/{world.site.cloud_id}/rest/api/3/myself")
    assert gateway.status_code == 404
