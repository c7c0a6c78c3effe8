"""Every forged, stale or misdirected token is refused with a 401 and changes nothing.

Tokens are crafted the way an attacker would: by hand, with PyJWT, against the routes of the
running app, while the Jira emulator holds the real installation.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from app.tenants.models import Tenant
from app.worklogs.models import Worklog
from connect.qsh import query_string_hash
from sandbox.jira import Installation
from tests.support.apps import APP_BASE_URL
from tests.support.world import World, jira_world

WEBHOOK = "/webhooks/jira/worklog"


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path) as world:
        yield world


@pytest.fixture
async def installation(world: World) -> Installation:
    return await world.install()


def hs256(claims: dict[str, Any], secret: str, **header: Any) -> str:
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + 180, **claims}, secret, "HS256", headers=header)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def webhook_body(worklog_id: str = "5001") -> dict[str, Any]:
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "worklog_created",
        "worklog": {
            "id": worklog_id,
            "issueId": "10001",
            "author": {"accountId": "user-1", "displayName": "Mia"},
            "started": "2026-11-03T09:00:00.000+0000",
            "timeSpentSeconds": 3600,
            "updated": "2026-11-03T09:00:00.000+0000",
        },
    }


async def snapshot(world: World) -> list[tuple[Any, ...]]:
    async with world.runtime.sessions() as session:
        tenants = [
            (t.client_key, t.shared_secret_encrypted, t.installed, t.enabled, t.updated_at)
            for t in (await session.execute(select(Tenant))).scalars()
        ]
        worklogs = [(w.tenant_id, w.id) for w in (await session.execute(select(Worklog))).scalars()]
    return [*tenants, *worklogs]


def assert_refused(response: Any) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]


# --- webhooks and the API (HS256, shared secret) ---------------------------------------------


def _webhook_attacks(inst: Installation) -> dict[str, str]:
    secret, key = inst.shared_secret, inst.client_key
    real_qsh = query_string_hash("POST", WEBHOOK)
    good = hs256({"iss": key, "qsh": real_qsh}, secret)
    header, payload, signature = good.split(".")
    tampered_payload = b64(
        {"iss": key, "qsh": real_qsh, "iat": int(time.time()), "exp": int(time.time()) + 9999}
    )
    now = int(time.time())
    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "wrong secret": hs256({"iss": key, "qsh": real_qsh}, "not-the-secret-" * 3),
        "expired": jwt.encode(
            {"iss": key, "qsh": real_qsh, "iat": now - 600, "exp": now - 60}, secret, "HS256"
        ),
        "iat in the future": jwt.encode(
            {"iss": key, "qsh": real_qsh, "iat": now + 300, "exp": now + 600}, secret, "HS256"
        ),
        "missing exp": jwt.encode({"iss": key, "qsh": real_qsh, "iat": now}, secret, "HS256"),
        "wrong qsh": hs256({"iss": key, "qsh": query_string_hash("POST", "/elsewhere")}, secret),
        "missing qsh": hs256({"iss": key}, secret),
        "context token": hs256({"iss": key, "qsh": "context-qsh", "sub": "user-1"}, secret),
        "unknown issuer": hs256({"iss": "some-other-site", "qsh": real_qsh}, secret),
        "tampered payload": f"{header}.{tampered_payload}.{signature}",
        "replayed from another URL": hs256(
            {"iss": key, "qsh": query_string_hash("POST", "/lifecycle/enabled")}, secret
        ),
        "RS256 where HS256 is expected": jwt.encode(
            {"iss": key, "qsh": real_qsh, "iat": now, "exp": now + 60},
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "RS256",
        ),
        "garbage": "not.a.jwt",
    }


@pytest.mark.parametrize(
    "attack",
    [
        "alg none",
        "wrong secret",
        "expired",
        "iat in the future",
        "missing exp",
        "wrong qsh",
        "missing qsh",
        "context token",
        "unknown issuer",
        "tampered payload",
        "replayed from another URL",
        "RS256 where HS256 is expected",
        "garbage",
    ],
)
async def test_forged_webhooks_are_refused_and_store_nothing(
    world: World, installation: Installation, attack: str
) -> None:
    before = await snapshot(world)
    token = _webhook_attacks(installation)[attack]
    response = await world.client.post(
        WEBHOOK, json=webhook_body(), headers={"Authorization": f"JWT {token}"}
    )
    assert_refused(response)
    assert token not in response.text and installation.shared_secret not in response.text
    assert await snapshot(world) == before


async def test_the_same_webhook_with_a_real_token_is_accepted(
    world: World, installation: Installation
) -> None:
    token = hs256(
        {"iss": installation.client_key, "qsh": query_string_hash("POST", WEBHOOK)},
        installation.shared_secret,
    )
    response = await world.client.post(
        WEBHOOK, json=webhook_body(), headers={"Authorization": f"JWT {token}"}
    )
    assert response.status_code == 204


async def test_missing_or_wrong_scheme_authorization_is_refused(
    world: World, installation: Installation
) -> None:
    for headers in ({}, {"Authorization": "Bearer abc"}, {"Authorization": "JWT "}):
        assert_refused(await world.client.post(WEBHOOK, json=webhook_body(), headers=headers))


async def test_an_uninstalled_sites_valid_token_is_refused(
    world: World, installation: Installation
) -> None:
    await world.jira.uninstall_app(world.site, world.app_key)
    before = await snapshot(world)
    token = hs256(
        {"iss": installation.client_key, "qsh": query_string_hash("POST", WEBHOOK)},
        installation.shared_secret,
    )
    response = await world.client.post(
        WEBHOOK, json=webhook_body(), headers={"Authorization": f"JWT {token}"}
    )
    assert_refused(response)
    assert response.json()["error"]["code"] == "installation_inactive"
    assert await snapshot(world) == before


# --- pages (?jwt= with a real qsh) -----------------------------------------------------------


async def test_a_page_opens_with_jiras_signed_url(world: World, installation: Installation) -> None:
    url = world.site.page_url(world.app_key, "/pages/worklogs", "user-1")
    response = await world.client.get(url)
    assert response.status_code == 200
    assert "all.js" in response.text and "Worklogs" in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_a_page_token_moved_to_another_page_is_refused(
    world: World, installation: Installation
) -> None:
    url = world.site.page_url(world.app_key, "/pages/worklogs", "user-1")
    assert_refused(await world.client.get(url.replace("/pages/worklogs", "/pages/invoices")))


async def test_a_page_url_with_an_added_parameter_is_refused(
    world: World, installation: Installation
) -> None:
    url = world.site.page_url(world.app_key, "/pages/worklogs", "user-1")
    assert_refused(await world.client.get(url + "&project_key=SECRET"))


async def test_a_context_token_cannot_open_a_page(world: World, installation: Installation) -> None:
    token = world.site.context_token(world.app_key, "user-1")
    assert_refused(await world.client.get(f"/pages/worklogs?jwt={token}"))


async def test_two_jwt_parameters_are_refused(world: World, installation: Installation) -> None:
    url = world.site.page_url(world.app_key, "/pages/worklogs", "user-1")
    assert_refused(await world.client.get(url + "&jwt=second"))


# --- the JSON API (context tokens) -----------------------------------------------------------


async def test_the_api_takes_a_context_token(world: World, installation: Installation) -> None:
    response = await world.api("GET", "/api/sync/worklogs", account_id="user-1")
    assert response.status_code == 200


async def test_the_api_takes_a_token_bound_to_its_own_request(
    world: World, installation: Installation
) -> None:
    token = hs256(
        {
            "iss": installation.client_key,
            "qsh": query_string_hash("GET", "/api/sync/worklogs"),
            "sub": "user-1",
        },
        installation.shared_secret,
    )
    response = await world.client.get(
        "/api/sync/worklogs", headers={"Authorization": f"JWT {token}"}
    )
    assert response.status_code == 200


async def test_the_api_refuses_a_token_bound_to_another_request(
    world: World, installation: Installation
) -> None:
    token = hs256(
        {"iss": installation.client_key, "qsh": query_string_hash("GET", "/api/worklogs")},
        installation.shared_secret,
    )
    assert_refused(
        await world.client.get("/api/sync/worklogs", headers={"Authorization": f"JWT {token}"})
    )


async def test_the_api_refuses_a_token_in_the_query(
    world: World, installation: Installation
) -> None:
    token = world.site.context_token(world.app_key, "user-1")
    assert_refused(await world.client.get(f"/api/sync/worklogs?jwt={token}"))


# --- lifecycle (RS256 signed install) --------------------------------------------------------


def _rs256(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str | None) -> str:
    now = int(time.time())
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode({"iat": now, "exp": now + 180, **claims}, key, "RS256", headers=headers)


@pytest.mark.parametrize(
    "attack",
    [
        "signed by an unknown key",
        "unknown kid",
        "wrong aud",
        "expired",
        "no kid",
        "wrong qsh",
        "iss is another site",
        "HS256 with the shared secret",
        "context token",
        "HS256 keyed with the public key PEM",
    ],
)
async def test_forged_installs_are_refused_and_change_nothing(
    world: World, installation: Installation, attack: str
) -> None:
    keys = world.jira.install_keys
    kid = keys.current_kid
    real_key = keys.private_key(kid)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client_key = installation.client_key
    qsh = query_string_hash("POST", "/lifecycle/installed")
    aud = [APP_BASE_URL]
    now = int(time.time())
    tokens = {
        "signed by an unknown key": lambda: _rs256(
            {"iss": client_key, "qsh": qsh, "aud": aud}, stranger, kid
        ),
        "unknown kid": lambda: _rs256(
            {"iss": client_key, "qsh": qsh, "aud": aud}, real_key, "no-such-kid"
        ),
        "wrong aud": lambda: _rs256(
            {"iss": client_key, "qsh": qsh, "aud": ["https://evil.example"]}, real_key, kid
        ),
        "expired": lambda: jwt.encode(
            {"iss": client_key, "qsh": qsh, "aud": aud, "iat": now - 900, "exp": now - 600},
            real_key,
            "RS256",
            headers={"kid": kid},
        ),
        "no kid": lambda: _rs256({"iss": client_key, "qsh": qsh, "aud": aud}, real_key, None),
        "wrong qsh": lambda: _rs256(
            {"iss": client_key, "qsh": query_string_hash("POST", "/lifecycle/enabled"), "aud": aud},
            real_key,
            kid,
        ),
        "iss is another site": lambda: _rs256(
            {"iss": "another-site", "qsh": qsh, "aud": aud}, real_key, kid
        ),
        "HS256 with the shared secret": lambda: hs256(
            {"iss": client_key, "qsh": qsh}, installation.shared_secret
        ),
        "context token": lambda: hs256(
            {"iss": client_key, "qsh": "context-qsh"}, installation.shared_secret
        ),
        "HS256 keyed with the public key PEM": lambda: _hs256_with_raw_key(
            {"iss": client_key, "qsh": qsh, "aud": aud, "iat": now, "exp": now + 60},
            real_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        ),
    }
    request = world.jira.lifecycle_request(world.site, world.app_key, "installed")
    request.payload["sharedSecret"] = "attacker-chosen-secret-0123456789abcdef"
    request.headers["Authorization"] = f"JWT {tokens[attack]()}"
    before = await snapshot(world)
    response = await world.jira.send_lifecycle(request)
    assert_refused(response)
    assert await snapshot(world) == before


async def test_a_context_token_is_never_accepted_on_enabled_or_disabled(
    world: World, installation: Installation
) -> None:
    for event in ("enabled", "disabled"):
        request = world.jira.lifecycle_request(world.site, world.app_key, event)
        request.headers["Authorization"] = "JWT " + hs256(
            {"iss": installation.client_key, "qsh": "context-qsh"}, installation.shared_secret
        )
        before = await snapshot(world)
        assert_refused(await world.jira.send_lifecycle(request))
        assert await snapshot(world) == before


async def test_one_site_cannot_switch_off_another(world: World, installation: Installation) -> None:
    other_site = world.jira.add_site("https://other.atlassian.net")
    other = await world.install(other_site)
    request = world.jira.lifecycle_request(other_site, world.app_key, "disabled")
    request.payload["clientKey"] = installation.client_key  # the body names the victim
    before = await snapshot(world)
    response = await world.jira.send_lifecycle(request)
    assert response.status_code == 403
    assert await snapshot(world) == before
    assert other.client_key != installation.client_key


async def test_an_install_from_a_host_outside_the_allow_list_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    async with jira_world(
        database_url, tmp_path, connect_allowed_jira_hosts="*.atlassian.net"
    ) as world:
        evil = world.jira.add_site("https://acme.evil.example", name="evil")
        with pytest.raises(Exception, match="403"):
            await world.install(evil)
        assert await snapshot(world) == []
        await world.install()  # acme.atlassian.net is allowed
        assert len(await snapshot(world)) == 1


def _hs256_with_raw_key(claims: dict[str, Any], key: bytes) -> str:
    """PyJWT refuses PEM keys for HMAC; an attacker's hand-rolled token does not."""
    import hashlib
    import hmac

    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
