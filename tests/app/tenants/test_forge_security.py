"""The API through the Forge door: `Authorization: Bearer <FIT>` from `invokeRemote`.

Every forged, stale or misdirected invocation token is refused with a 401 in the API's error
shape, before the database is so much as read; Forge's keys come from the Jira emulator's
JWKS over HTTP, and the tests count its requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import event, select

from app.billing.models import Client
from app.tenants.models import ForgeInstallation, Tenant
from sandbox.jira import ForgeInstallation as JiraForgeInstallation
from sandbox.jira.forge import JWKS_HOST
from tests.support.apps import APP_BASE_URL
from tests.support.world import World, jira_world

CLIENT = {"name": "Globex", "currency": "USD", "hourly_rate": "120.00"}


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path, forge=True) as world:
        await world.install()  # the site has the Connect app too: permissions are asked of Jira
        yield world


@pytest.fixture
async def installation(world: World) -> JiraForgeInstallation:
    installation = await world.install_forge()
    # A first UI call places the installation on its site; the attacks below come after.
    response = await world.forge_api("GET", "/api/clients")
    assert response.status_code == 200, response.text
    await world.settle()  # the Connect install's backfill, so that only requests run SQL
    return installation


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwks_fetches(world: World) -> int:
    return world.jira.forge.jwks_requests[JWKS_HOST]


@contextmanager
def sql_statements(world: World) -> Iterator[list[str]]:
    """Every SQL statement the app runs meanwhile (observed, not intercepted)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = world.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def snapshot(world: World) -> list[tuple[Any, ...]]:
    async with world.runtime.sessions() as session:
        tenants = [
            (t.id, t.client_key, t.cloud_id, t.base_url, t.updated_at)
            for t in (await session.execute(select(Tenant))).scalars()
        ]
        installs = [
            (i.installation_id, i.tenant_id, i.installed, i.install_event_iat, i.updated_at)
            for i in (await session.execute(select(ForgeInstallation))).scalars()
        ]
        clients = [(c.tenant_id, c.name) for c in (await session.execute(select(Client))).scalars()]
    return [*tenants, *installs, *clients]


def ui_claims(world: World, installation: JiraForgeInstallation, **changes: Any) -> dict[str, Any]:
    claims = world.jira.forge.invocation_claims(
        installation, account_id="user-admin", module_type="jira:globalPage", ui=True
    )
    claims.update(changes)
    return claims


def _attacks(world: World, installation: JiraForgeInstallation) -> dict[str, str]:
    forge = world.jira.forge
    now = int(world.jira.token_clock())
    good = forge.ui_token(world.site, world.forge, "user-admin")
    header, _payload, signature = good.split(".")
    tampered = jwt.decode(good, options={"verify_signature": False})
    tampered["principal"] = "user-1"
    hs_header = b64({"alg": "HS256", "typ": "JWT", "kid": forge.keys.current_kid})
    hs_payload = b64(ui_claims(world, installation))
    hs_mac = hmac.new(
        forge.keys.public_pem(), f"{hs_header}.{hs_payload}".encode(), hashlib.sha256
    ).digest()
    other_app = forge.register_app("https://elsewhere.example")
    forge.new_installation(world.site, other_app)
    return {
        "expired": forge.mint(
            ui_claims(world, installation, iat=now - 90, nbf=now - 90, exp=now - 60)
        ),
        "not yet valid": forge.mint(ui_claims(world, installation, nbf=now + 120, exp=now + 150)),
        "wrong aud": forge.mint(
            ui_claims(
                world,
                installation,
                aud="ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000",
            )
        ),
        "wrong iss": forge.mint(ui_claims(world, installation, iss="forge/context-token")),
        "tampered payload": f"{header}.{b64(tampered)}.{signature}",
        "alg none": f"{b64({'alg': 'none', 'kid': forge.keys.current_kid})}.{hs_payload}.",
        "HS256 with the public key": (
            f"{hs_header}.{hs_payload}.{base64.urlsafe_b64encode(hs_mac).rstrip(b'=').decode()}"
        ),
        "icLabel ../evil": forge.mint(ui_claims(world, installation, icLabel="../evil")),
        "icLabel of 51 characters": forge.mint(ui_claims(world, installation, icLabel="a" * 51)),
        "icLabel in uppercase": forge.mint(ui_claims(world, installation, icLabel="ORANGE")),
        "another app's token": forge.ui_token(world.site, other_app, "user-admin"),
        "a trigger's token": forge.trigger_token(installation),
        "garbage": "not.a.token",
    }


ATTACKS = [
    "expired",
    "not yet valid",
    "wrong aud",
    "wrong iss",
    "tampered payload",
    "alg none",
    "HS256 with the public key",
    "icLabel ../evil",
    "icLabel of 51 characters",
    "icLabel in uppercase",
    "another app's token",
    "a trigger's token",
    "garbage",
]


def assert_refused(response: httpx.Response, code: str | None = None) -> dict[str, str]:
    assert response.status_code == 401, response.text
    error: dict[str, str] = response.json()["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] and error["message"].endswith(".")
    if code is not None:
        assert error["code"] == code
    return error


@pytest.mark.parametrize("attack", ATTACKS)
async def test_forged_invocation_tokens_are_refused_before_anything_is_read(
    world: World, installation: JiraForgeInstallation, attack: str
) -> None:
    token = _attacks(world, installation)[attack]
    before = await snapshot(world)
    fetches = jwks_fetches(world)

    with sql_statements(world) as statements:
        read = await world.client.get("/api/clients", headers={"Authorization": f"Bearer {token}"})
        write = await world.client.post(
            "/api/clients", json=CLIENT, headers={"Authorization": f"Bearer {token}"}
        )

    assert_refused(read)
    assert_refused(write)
    assert statements == []
    assert await snapshot(world) == before
    assert jwks_fetches(world) == fetches  # every kid here is Forge's: nothing to refetch


@pytest.mark.parametrize(
    ("attack", "code"),
    [
        ("expired", "token_expired"),
        ("not yet valid", "token_not_yet_valid"),
        ("wrong aud", "wrong_audience"),
        ("wrong iss", "wrong_issuer"),
        ("tampered payload", "bad_signature"),
        ("alg none", "unaccepted_algorithm"),
        ("HS256 with the public key", "unaccepted_algorithm"),
        ("icLabel ../evil", "bad_ic_label"),
        ("another app's token", "wrong_audience"),
        ("a trigger's token", "forge_principal_missing"),
    ],
)
async def test_each_refusal_says_why(
    world: World, installation: JiraForgeInstallation, attack: str, code: str
) -> None:
    token = _attacks(world, installation)[attack]
    response = await world.client.get("/api/clients", headers={"Authorization": f"Bearer {token}"})
    assert_refused(response, code)


async def test_an_unknown_kid_costs_one_jwks_refetch_and_a_second_one_none(
    world: World, installation: JiraForgeInstallation
) -> None:
    forge = world.jira.forge
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    before = await snapshot(world)
    assert jwks_fetches(world) == 1

    with sql_statements(world) as statements:
        first = await world.client.get(
            "/api/clients",
            headers={
                "Authorization": "Bearer "
                + forge.mint(ui_claims(world, installation), kid="forged-1", private_key=stranger)
            },
        )
        assert_refused(first, "unknown_signing_key")
        assert jwks_fetches(world) == 2  # exactly one refetch

        second = await world.client.get(
            "/api/clients",
            headers={
                "Authorization": "Bearer "
                + forge.mint(ui_claims(world, installation), kid="forged-2", private_key=stranger)
            },
        )
    assert_refused(second, "unknown_signing_key")
    assert jwks_fetches(world) == 2  # within the minute: no fetch at all
    assert statements == []
    assert await snapshot(world) == before


async def test_a_valid_token_reads_and_writes_as_its_person(
    world: World, installation: JiraForgeInstallation
) -> None:
    created = await world.forge_api("POST", "/api/clients", json=CLIENT)
    assert created.status_code == 201, created.text
    me = await world.forge_api("GET", "/api/me", account_id="user-1")
    assert me.json() == {
        "account_id": "user-1",
        "can_edit_billing": False,
        "can_manage_quickbooks": False,
        "can_see_money": True,
    }
    listed = await world.forge_api("GET", "/api/clients", account_id="user-1")
    assert [c["name"] for c in listed.json()["items"]] == ["Globex"]
    assert jwks_fetches(world) == 1  # keys stayed in memory


async def test_a_reader_is_refused_a_write_through_forge(
    world: World, installation: JiraForgeInstallation
) -> None:
    response = await world.forge_api("POST", "/api/clients", json=CLIENT, account_id="user-1")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_allowed"


async def test_a_wrong_authorization_scheme_is_refused(world: World) -> None:
    response = await world.client.get("/api/clients", headers={"Authorization": "Basic dXNlcg=="})
    assert "Bearer" in assert_refused(response, "invalid_token")["message"]
    response = await world.client.get("/api/clients", headers={"Authorization": "Bearer"})
    assert_refused(response)


async def test_a_uninstalled_installations_token_is_refused(
    world: World, installation: JiraForgeInstallation
) -> None:
    token = world.jira.forge.mint(ui_claims(world, installation))
    await world.uninstall_forge()
    before = await snapshot(world)
    response = await world.client.get("/api/clients", headers={"Authorization": f"Bearer {token}"})
    assert "uninstalled" in assert_refused(response, "installation_inactive")["message"]
    assert await snapshot(world) == before


async def test_the_forge_door_is_closed_without_an_app_id(
    database_url: str, tmp_path: Path
) -> None:
    async with jira_world(database_url, tmp_path) as world:
        await world.install()
        await world.settle()
        app = world.jira.forge.register_app(APP_BASE_URL)
        installation = world.jira.forge.new_installation(world.site, app)
        token = world.jira.forge.ui_token(world.site, app, "user-admin")
        with sql_statements(world) as statements:
            api = await world.client.get(
                "/api/clients", headers={"Authorization": f"Bearer {token}"}
            )
            lifecycle = await world.jira.forge.send(
                world.jira.forge.lifecycle_request(installation, "avi:forge:installed:app")
            )
        assert "W360_FORGE_APP_ID" in assert_refused(api, "forge_not_configured")["message"]
        assert lifecycle.status_code == 404
        assert lifecycle.json()["error"]["code"] == "forge_not_configured"
        assert statements == []
        assert sum(world.jira.forge.jwks_requests.values()) == 0
        # The Connect door is untouched by it.
        assert (await world.api("GET", "/api/clients")).status_code == 200
