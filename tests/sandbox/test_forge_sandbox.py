"""The emulator's Forge side behaves as Forge's documentation says a Forge Remote sees it:
its JWKS, the invocation tokens of UI calls and triggers, lifecycle deliveries with their
headers, bodies and retries, reinstalls, and the Connect payload of an adopted app.

The remote here is a few lines of Starlette that verify every token with `forge/` against
the emulator's JWKS over HTTP and record what they got."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forge.errors import InvocationTokenError
from forge.invocation import InvocationClaims, InvocationTokenVerifier
from forge.jwks import JwksKeyStore
from sandbox.jira import ForgeApp, ForgeKeyRing, JiraSandbox, SandboxClock, Site
from sandbox.jira.forge import INSTALLED, JWKS_URL, UPGRADED
from tests.sandbox.conftest import NOW_MS, SITE_URL
from tests.sandbox.connect_app import ConnectApp

REMOTE = "https://remote.example"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    claims: InvocationClaims | None
    refused: str | None


@dataclass
class Remote:
    statuses: list[int] = field(default_factory=list)  # answers to give, then 204
    received: list[Received] = field(default_factory=list)
    verifier: InvocationTokenVerifier | None = None

    async def handle(self, request: Request) -> Response:
        assert self.verifier is not None
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        claims, refused = None, None
        try:
            claims = await self.verifier.verify(token)
        except InvocationTokenError as exc:
            refused = exc.code
        self.received.append(
            Received(
                path=request.url.path,
                headers=dict(request.headers),
                body=json.loads(await request.body() or b"{}"),
                claims=claims,
                refused=refused,
            )
        )
        if refused:
            return Response(status_code=401)
        return Response(status_code=self.statuses.pop(0) if self.statuses else 204)

    @property
    def asgi(self) -> Starlette:
        return Starlette(
            routes=[Route("/{path:path}", self.handle, methods=["GET", "POST", "PATCH"])]
        )


@dataclass
class ForgeWorld:
    sandbox: JiraSandbox
    site: Site
    app: ForgeApp
    remote: Remote
    sleeps: list[float]


@pytest.fixture(scope="module")
def forge_keys() -> ForgeKeyRing:
    return ForgeKeyRing()


@pytest.fixture
async def world(forge_keys: ForgeKeyRing) -> AsyncIterator[ForgeWorld]:
    remote = Remote()
    to_remote = httpx.AsyncClient(transport=httpx.ASGITransport(app=remote.asgi))
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    sandbox = JiraSandbox(http=to_remote, clock=SandboxClock(NOW_MS), forge_keys=forge_keys)
    sandbox.forge.sleep = sleep
    site = sandbox.add_site(SITE_URL)
    app = sandbox.forge.register_app(REMOTE)
    jwks_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app))
    remote.verifier = InvocationTokenVerifier(
        app_id=app.app_id, keys=JwksKeyStore(jwks_http), jwks_url=JWKS_URL
    )
    yield ForgeWorld(sandbox, site, app, remote, sleeps)
    await sandbox.aclose()
    await to_remote.aclose()
    await jwks_http.aclose()


# --- JWKS ------------------------------------------------------------------------------------


async def test_the_jwks_is_served_at_forges_address_in_jwks_form() -> None:
    ring = ForgeKeyRing()
    sandbox = JiraSandbox(forge_keys=ring)
    first = ring.current_kid
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as http:
        response = await http.get(JWKS_URL)
        assert response.status_code == 200
        [key] = response.json()["keys"]
        assert key["kid"] == first
        assert {key["kty"], key["alg"], key["use"]} == {"RSA", "RS256", "sig"}
        assert set(key) == {"kty", "kid", "use", "alg", "n", "e"}  # never a private part

        second = ring.rotate()
        assert [k["kid"] for k in (await http.get(JWKS_URL)).json()["keys"]] == [first, second]
        ring.retire(first)
        assert [k["kid"] for k in (await http.get(JWKS_URL)).json()["keys"]] == [second]
        assert sandbox.forge.jwks_requests["forge.cdn.prod.atlassian-dev.net"] == 3

        isolated = await http.get(
            "https://forge.cdn.nowhere.isolated-cloud.test/.well-known/jwks.json"
        )
        assert isolated.status_code == 404  # no such Isolated Cloud yet
    await sandbox.aclose()


# --- tokens ----------------------------------------------------------------------------------


async def test_a_ui_calls_token_carries_the_person_and_the_site(world: ForgeWorld) -> None:
    installation = world.sandbox.forge.new_installation(world.site, world.app)
    response = await world.sandbox.forge.invoke_remote(
        world.site, world.app, "user-1", "GET", "/api/clients"
    )
    assert response.status_code == 204
    [got] = world.remote.received
    assert got.refused is None and got.claims is not None
    claims = got.claims.raw
    assert claims["principal"] == "user-1"
    assert claims["context"]["cloudId"] == world.site.cloud_id
    assert claims["context"]["siteUrl"] == SITE_URL
    assert claims["app"]["module"]["type"] == "jira:globalPage"
    assert claims["app"]["installationId"] == installation.installation_id
    assert claims["app"]["apiBaseUrl"] == f"https://api.atlassian.com/ex/jira/{world.site.cloud_id}"
    assert "version" not in claims["app"]  # removed by Forge on 24 Sep 2025
    assert claims["exp"] - claims["iat"] == 25 and claims["nbf"] == claims["iat"]
    assert got.headers["x-forge-oauth-system"] and got.headers["x-forge-oauth-user"]
    user_token = jwt.decode(got.headers["x-forge-oauth-user"], options={"verify_signature": False})
    assert user_token["sub"] == "user-1"


async def test_a_triggers_token_has_no_person_and_no_context(world: ForgeWorld) -> None:
    installation = world.sandbox.forge.new_installation(world.site, world.app)
    claims = jwt.decode(
        world.sandbox.forge.trigger_token(installation), options={"verify_signature": False}
    )
    assert "principal" not in claims and "context" not in claims
    assert claims["app"]["module"]["type"] == "core:endpoint"
    assert claims["app"]["installation"]["contexts"] == [
        {
            "name": "jira",
            "apiBaseUrl": world.site.api_base_url,
            "cloudId": world.site.cloud_id,
        }
    ]
    assert claims["iss"] == "forge/invocation-token" and claims["aud"] == world.app.app_id


async def test_the_system_token_is_reused_while_it_has_two_hours_left(world: ForgeWorld) -> None:
    installation = world.sandbox.forge.new_installation(world.site, world.app)
    first = world.sandbox.forge.system_token(installation)
    assert world.sandbox.forge.system_token(installation) == first
    exp = jwt.decode(first, options={"verify_signature": False})["exp"]
    world.sandbox.token_clock = lambda: exp - 2 * 3600 + 1  # type: ignore[method-assign]
    assert world.sandbox.forge.system_token(installation) != first


# --- lifecycle deliveries --------------------------------------------------------------------


async def test_installed_is_delivered_with_the_documented_headers_and_body(
    world: ForgeWorld,
) -> None:
    installation = await world.sandbox.forge.install(
        world.site, world.app, installer_account_id="user-admin"
    )
    [got] = world.remote.received
    assert got.path == "/forge/lifecycle"
    assert got.claims is not None and got.claims.is_trigger
    assert got.claims.installation_id == installation.installation_id
    assert got.headers["authorization"].startswith("Bearer ")
    assert len(got.headers["x-b3-traceid"]) == 16 and len(got.headers["x-b3-spanid"]) == 16
    assert got.headers["x-forge-oauth-system"] == installation.system_tokens[-1]
    assert "x-forge-oauth-user" not in got.headers  # never sent with triggers
    assert got.body == {
        "eventType": INSTALLED,
        "id": installation.uuid,
        "installerAccountId": "user-admin",
        "app": {
            "id": world.app.uuid,
            "version": "1.0.0",
            "name": "Worklog360",
            "ownerAccountId": world.app.owner_account_id,
        },
        "environment": {"id": world.app.environment_uuid},
        "context": {"cloudId": world.site.cloud_id, "moduleKey": "wl-life"},
    }


async def test_a_failed_delivery_is_retried_four_times_sixty_seconds_apart(
    world: ForgeWorld,
) -> None:
    world.remote.statuses = [500, 500, 500, 500, 500]
    await world.sandbox.forge.install(world.site, world.app)

    attempts = world.remote.received
    assert len(attempts) == 5
    assert world.sleeps == [60.0] * 4
    assert "retryContext" not in attempts[0].body
    assert [a.body["retryContext"]["retryCount"] for a in attempts[1:]] == [1, 2, 3, 4]
    assert {a.body["retryContext"]["retryReason"] for a in attempts[1:]} == {
        "INVALID_REMOTE_INVOCATION_ERROR"
    }
    assert len({a.headers["authorization"] for a in attempts}) == 5  # a fresh FIT each time
    [delivery] = world.sandbox.forge.deliveries
    assert not delivery.delivered
    # Forge installs the app whatever the remote answered.
    assert world.sandbox.forge.installation(world.site, world.app) is not None


async def test_a_delivery_stops_retrying_once_answered(world: ForgeWorld) -> None:
    world.remote.statuses = [503, 302]
    await world.sandbox.forge.install(world.site, world.app)
    [delivery] = world.sandbox.forge.deliveries
    assert [a.status_code for a in delivery.attempts] == [503, 302, 204]  # 3xx is a failure
    assert delivery.delivered


async def test_upgrade_is_delivered_with_the_new_version_and_scopes(world: ForgeWorld) -> None:
    await world.sandbox.forge.install(world.site, world.app)
    await world.sandbox.forge.upgrade(world.site, world.app, "2.0.0", upgrader_account_id="u-2")
    got = world.remote.received[-1]
    assert got.body["eventType"] == UPGRADED
    assert got.body["app"]["version"] == "2.0.0" and got.body["upgraderAccountId"] == "u-2"
    assert "read:app-system-token" in got.body["permissions"]["scopes"]
    assert got.claims is not None and got.claims.app_version == "2.0.0"


async def test_uninstall_sends_pre_uninstall_once_and_reinstall_is_a_new_id(
    world: ForgeWorld,
) -> None:
    first = await world.sandbox.forge.install(world.site, world.app)
    world.remote.statuses = [500, 204]
    await world.sandbox.forge.uninstall(world.site, world.app)

    got = world.remote.received[-1]
    assert got.path == "/forge/uninstall"
    assert set(got.body) == {"context", "contextToken"}
    assert got.body["context"] == {"cloudId": world.site.cloud_id, "moduleKey": "wl-uninstall"}
    assert len(world.remote.received) == 2  # no retry, and uninstalled all the same
    assert world.sandbox.forge.installation(world.site, world.app) is None
    assert not first.installed and first.system_tokens == []

    second = await world.sandbox.forge.install(world.site, world.app)
    assert second.installation_id != first.installation_id
    assert world.remote.received[-1].claims is not None
    assert world.remote.received[-1].claims.cloud_id == world.site.cloud_id  # stable


async def test_a_connect_app_adopted_into_forge_names_its_forge_installation(
    install_keys: Any,
) -> None:
    connect_app = ConnectApp()
    to_app = httpx.AsyncClient(transport=httpx.ASGITransport(app=connect_app.asgi))
    sandbox = JiraSandbox(http=to_app, install_keys=install_keys)
    site = sandbox.add_site(SITE_URL)
    plain = site.add_installation(connect_app.descriptor())
    assert "installationId" not in sandbox.lifecycle.lifecycle_payload(site, plain, "installed")

    app = sandbox.forge.register_app(REMOTE, connect_key=connect_app.key)
    installation = sandbox.forge.new_installation(site, app)
    payload = sandbox.lifecycle.lifecycle_payload(site, plain, "installed")
    assert payload["installationId"] == installation.installation_id
    await sandbox.aclose()
    await to_app.aclose()


# --- the API gateway: api.atlassian.com/ex/jira/{cloudId} with bearer tokens ----------------


def arrange_work(site: Site) -> tuple[str, str]:
    """A project, an issue and one worklog by a person; their ids."""
    site.add_project("ACME", "Acme Web")
    issue = site.add_issue("ACME", "Invoice page")
    site.add_user("Mia Krystof", account_id="user-1")
    worklog = site.add_worklog(
        issue, "user-1", started="2026-11-02T09:00:00.000+0100", time_spent_seconds=1800
    )
    return issue.id, worklog.id


@pytest.fixture
async def gateway(world: ForgeWorld) -> AsyncIterator[httpx.AsyncClient]:
    """How a remote reaches Jira through Atlassian's API gateway."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=world.sandbox.app),
        base_url=world.site.api_base_url,
    ) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_gateway_serves_the_sites_data_to_the_system_token_as_the_apps_bot_user(
    world: ForgeWorld, gateway: httpx.AsyncClient
) -> None:
    issue_id, worklog_id = arrange_work(world.site)
    installation = await world.sandbox.forge.install(world.site, world.app)
    token = installation.system_tokens[-1]

    listed = await gateway.post(
        "/rest/api/3/worklog/list", json={"ids": [int(worklog_id)]}, headers=bearer(token)
    )
    assert listed.status_code == 200
    [worklog] = listed.json()
    assert worklog["id"] == worklog_id and worklog["issueId"] == issue_id
    assert worklog["author"]["accountId"] == "user-1"
    assert worklog["author"]["displayName"] == "Mia Krystof"

    me = (await gateway.get("/rest/api/3/myself", headers=bearer(token))).json()
    assert me["accountId"] == installation.app_user_id and me["accountType"] == "app"
    info = (await gateway.get("/rest/api/3/serverInfo", headers=bearer(token))).json()
    assert info["baseUrl"] == SITE_URL and info["deploymentType"] == "Cloud"
    assert world.site.gateway_calls.count("POST", "/rest/api/3/worklog/list") == 1

    # The same app user across a reinstall, as Jira keeps an app's account.
    await world.sandbox.forge.uninstall(world.site, world.app)
    again = await world.sandbox.forge.install(world.site, world.app)
    assert again.app_user_id == installation.app_user_id


async def test_a_user_token_acts_as_its_person(
    world: ForgeWorld, gateway: httpx.AsyncClient
) -> None:
    issue_id, _ = arrange_work(world.site)
    await world.sandbox.forge.install(world.site, world.app)
    token = world.sandbox.forge.user_token(world.site, world.app, "user-1")

    created = await gateway.post(
        f"/rest/api/3/issue/{issue_id}/worklog",
        json={"started": "2026-11-03T10:00:00.000+0000", "timeSpentSeconds": 600},
        headers=bearer(token),
    )

    assert created.status_code == 201
    assert created.json()["author"]["accountId"] == "user-1"
    me = (await gateway.get("/rest/api/3/myself", headers=bearer(token))).json()
    assert me["accountId"] == "user-1"


async def test_the_gateway_refuses_expired_unknown_and_revoked_tokens_with_its_own_401(
    world: ForgeWorld, gateway: httpx.AsyncClient
) -> None:
    arrange_work(world.site)
    installation = await world.sandbox.forge.install(world.site, world.app)
    token = installation.system_tokens[-1]
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    forged = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}),
        "not-atlassians-key-0123456789abcdef",
        "HS256",
    )
    connect_style = {"Authorization": "JWT " + token}

    for headers in ({}, bearer("not-a-token"), bearer(forged), connect_style):
        refused = await gateway.get("/rest/api/3/myself", headers=headers)
        assert refused.status_code == 401
        assert refused.json() == {"code": 401, "message": "Unauthorized"}

    world.sandbox.token_clock = lambda: float(exp)  # type: ignore[method-assign]
    assert (await gateway.get("/rest/api/3/myself", headers=bearer(token))).status_code == 401

    world.sandbox.token_clock = lambda: float(exp - 3 * 3600)  # type: ignore[method-assign]
    assert (await gateway.get("/rest/api/3/myself", headers=bearer(token))).status_code == 200
    await world.sandbox.forge.uninstall(world.site, world.app)
    assert (await gateway.get("/rest/api/3/myself", headers=bearer(token))).status_code == 401


async def test_another_sites_token_is_refused_at_this_sites_address(
    world: ForgeWorld, gateway: httpx.AsyncClient
) -> None:
    other = world.sandbox.add_site("https://globex.atlassian.net")
    elsewhere = await world.sandbox.forge.install(other, world.app)
    await world.sandbox.forge.install(world.site, world.app)
    refused = await gateway.get("/rest/api/3/myself", headers=bearer(elsewhere.system_tokens[-1]))
    assert refused.status_code == 401


# --- product events and scheduled triggers ---------------------------------------------------


async def test_worklog_events_are_delivered_with_the_documented_body_and_headers(
    world: ForgeWorld,
) -> None:
    installation = await world.sandbox.forge.install(world.site, world.app)
    world.remote.received.clear()
    issue_id, worklog_id = arrange_work(world.site)
    world.site.update_worklog(worklog_id, time_spent_seconds=2400)
    world.site.delete_worklog(worklog_id)

    pending = world.sandbox.forge.pending_events(world.site)
    assert [e.event for e in pending] == [
        "avi:jira:created:worklog",
        "avi:jira:updated:worklog",
        "avi:jira:deleted:worklog",
    ]
    await world.sandbox.forge.deliver_events(world.site)

    assert [r.path for r in world.remote.received] == ["/forge/events"] * 3
    created = world.remote.received[0]
    assert created.claims is not None and created.claims.is_trigger
    assert created.claims.module_key == world.app.events_module_key
    assert created.headers["x-forge-oauth-system"] == installation.system_tokens[-1]
    assert "x-forge-oauth-user" not in created.headers
    body = created.body
    assert body["eventType"] == "avi:jira:created:worklog"
    assert body["selfGenerated"] is False
    assert body["timestamp"] == str(NOW_MS)  # a string of epoch milliseconds
    assert body["context"] == {"cloudId": world.site.cloud_id, "moduleKey": "wl-worklogs"}
    worklog = body["worklog"]
    assert worklog["id"] == worklog_id and worklog["issueId"] == issue_id
    assert worklog["author"] == {"accountId": "user-1"}  # Forge's User: the account id only
    assert worklog["timeSpentSeconds"] == 1800  # a snapshot: the later edit is its own event
    assert world.remote.received[1].body["worklog"]["timeSpentSeconds"] == 2400
    assert world.remote.received[2].body["worklog"]["id"] == worklog_id
    assert world.sandbox.forge.pending_events() == []


async def test_a_failed_event_is_retried_four_times_sixty_seconds_apart(
    world: ForgeWorld,
) -> None:
    await world.sandbox.forge.install(world.site, world.app)
    world.remote.received.clear()
    world.sleeps.clear()
    arrange_work(world.site)
    world.remote.statuses = [500, 503, 500, 500, 500]

    [delivery] = await world.sandbox.forge.deliver_events(world.site)

    assert len(world.remote.received) == 5 and not delivery.delivered
    assert world.sleeps == [60.0] * 4
    assert [r.body["retryContext"]["retryCount"] for r in world.remote.received[1:]] == [
        1,
        2,
        3,
        4,
    ]
    assert len({r.headers["authorization"] for r in world.remote.received}) == 5


async def test_events_can_be_duplicated_reordered_and_held_back_to_come_late(
    world: ForgeWorld,
) -> None:
    await world.sandbox.forge.install(world.site, world.app)
    world.remote.received.clear()
    _, worklog_id = arrange_work(world.site)
    world.site.update_worklog(worklog_id, time_spent_seconds=2400)
    created, updated = world.sandbox.forge.pending_events(world.site)
    twin = world.sandbox.forge.duplicate_event(created.id, at_end=True)
    world.sandbox.forge.reorder_events([updated.id, created.id, twin.id])

    await world.sandbox.forge.deliver_events(only=[updated.id, twin.id])
    assert [e.id for e in world.sandbox.forge.pending_events()] == [created.id]  # late
    await world.sandbox.forge.deliver_events()

    events = [
        (r.body["eventType"], r.body["worklog"]["timeSpentSeconds"]) for r in world.remote.received
    ]
    assert events == [
        ("avi:jira:updated:worklog", 2400),
        ("avi:jira:created:worklog", 1800),
        ("avi:jira:created:worklog", 1800),
    ]


async def test_deleting_an_issue_sends_one_issue_event_and_no_worklog_events(
    world: ForgeWorld,
) -> None:
    await world.sandbox.forge.install(world.site, world.app)
    issue_id, worklog_id = arrange_work(world.site)
    world.sandbox.forge.events.clear()

    world.site.delete_issue(issue_id, by="user-1")

    [event] = world.sandbox.forge.pending_events(world.site)
    assert event.event == "avi:jira:deleted:issue"
    assert event.payload["issue"]["id"] == issue_id
    assert event.payload["issue"]["key"] == "ACME-1"
    assert event.payload["atlassianId"] == "user-1"
    assert world.site.find_issue(issue_id) is None
    assert worklog_id not in world.site.worklogs
    # The cascade is in Jira's deleted-worklogs feed, for reconciliation to find.
    deleted = world.site.deleted_feed.page(0, NOW_MS + 120_000)
    assert [entry[1] for entry in deleted.entries] == [int(worklog_id)]


async def test_a_scheduled_trigger_brings_the_system_token_and_no_user_token(
    world: ForgeWorld,
) -> None:
    installation = await world.sandbox.forge.install(world.site, world.app)
    world.remote.received.clear()

    delivery = await world.sandbox.forge.run_scheduled(world.site, world.app)

    assert delivery.delivered
    [got] = world.remote.received
    assert got.path == "/forge/scheduled"
    assert got.claims is not None and got.claims.is_trigger
    assert got.claims.module_key == "wl-hourly"
    assert got.headers["x-forge-oauth-system"] == installation.system_tokens[-1]
    assert "x-forge-oauth-user" not in got.headers
    assert got.body == {"context": {"cloudId": world.site.cloud_id, "moduleKey": "wl-hourly"}}
