"""Connecting QuickBooks through the Forge door: a Forge page cannot put a Jira token in a URL,
so the API issues a short-lived, single-use link (`POST /api/quickbooks/connect-link`) that the
page opens outside Jira through the bridge's router. The link starts QuickBooks' OAuth for the
tenant and the Jira administrator it was made for, once, within 5 minutes."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from app.quickbooks.state import issue_state, state_key
from tests.app.quickbooks.conftest import token_calls
from tests.support.apps import TEST_SECRET_KEY
from tests.support.world import QBO_BASE_URL, World, jira_world

HTML = {"Accept": "text/html"}


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path, forge=True) as world:
        await world.install_forge()
        await world.settle()
        yield world


async def connect_link(world: World, account_id: str = "user-admin", **kwargs: object) -> str:
    response = await world.forge_api(
        "POST", "/api/quickbooks/connect-link", account_id=account_id, **kwargs
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"url", "expires_at"}
    url: str = body["url"]
    return url


def link_claims(url: str) -> dict[str, object]:
    token = parse_qs(urlsplit(url).query)["link"][0]
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def finish_at_intuit(world: World, started_location: str) -> str:
    back = await world.authorize_at_intuit(started_location)
    return (await world.follow_callback(back)).text


async def test_a_link_opens_intuit_for_the_admin_once_and_connects_the_site(
    world: World,
) -> None:
    url = await connect_link(world)
    assert url.startswith("https://worklog360.test/quickbooks/connect?link=")
    claims = link_claims(url)
    assert claims["sub"] == "user-admin" and claims["exp"] - claims["iat"] == 300  # type: ignore[operator]

    world.quickbooks.approve_next_authorization(world.realm_id)
    started = await world.client.get(url, headers=HTML)
    assert started.status_code == 302
    location = started.headers["location"]
    assert location.startswith(QBO_BASE_URL + "/connect/oauth2?")
    state = parse_qs(urlsplit(location).query)["state"][0]
    assert jwt.decode(state, options={"verify_signature": False})["sub"] == "user-admin"
    assert 'data-outcome="connected"' in await finish_at_intuit(world, location)
    connection = (await world.forge_api("GET", "/api/quickbooks/connection")).json()
    assert connection["connected"] and connection["realm_id"] == world.realm_id

    # Once: the same link again (a reload, a copy) starts nothing.
    again = await world.client.get(url, headers=HTML)
    assert again.status_code == 409
    assert 'data-outcome="link_used"' in again.text
    assert "already used" in again.text and "Connect to QuickBooks" in again.text
    as_json = await world.client.get(url)
    assert as_json.json()["error"]["code"] == "link_used"
    assert token_calls(world) == 1


async def test_a_link_expires_after_five_minutes(world: World) -> None:
    url = await connect_link(world)
    world.quickbooks.clock.advance(301)

    page = await world.client.get(url, headers=HTML)

    assert page.status_code == 401
    assert 'data-outcome="link_expired"' in page.text
    assert "5 minutes" in page.text
    assert "location" not in page.headers


async def test_a_link_connects_the_site_it_was_made_for_and_no_other(world: World) -> None:
    globex = world.jira.add_site("https://globex.atlassian.net")
    globex.add_user("Gil Admin", account_id="user-gil", global_permissions=["ADMINISTER"])
    await world.install_forge(globex, installer_account_id="user-gil")
    await world.settle()

    url = await connect_link(world, account_id="user-gil", site=globex)
    world.quickbooks.approve_next_authorization(world.realm_id)
    started = await world.client.get(url, headers=HTML)
    assert 'data-outcome="connected"' in await finish_at_intuit(world, started.headers["location"])

    on_globex = await world.forge_api(
        "GET", "/api/quickbooks/connection", account_id="user-gil", site=globex
    )
    on_acme = await world.forge_api("GET", "/api/quickbooks/connection")
    assert on_globex.json()["connected"] is True
    assert on_acme.json()["connected"] is False


async def test_an_altered_or_foreign_token_is_not_a_link(world: World) -> None:
    url = await connect_link(world)
    token = parse_qs(urlsplit(url).query)["link"][0]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tid"] = claims["tid"] + 1  # another tenant, same signature
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    oauth_state, _ = issue_state(
        state_key(TEST_SECRET_KEY),
        tenant_id=claims["tid"] - 1,
        account_id="user-admin",
        now=world.runtime.quickbooks.now(),
    )
    # A Forge Invocation Token is no link either (and must never be put in a URL).
    fit = world.jira.forge.ui_token(world.site, world.forge, "user-admin")

    for bad in (f"{header}.{forged}.{signature}", oauth_state, fit, "nonsense"):
        page = await world.client.get("/quickbooks/connect", params={"link": bad}, headers=HTML)
        assert page.status_code == 401, bad
        assert 'data-outcome="link_invalid"' in page.text
    assert token_calls(world) == 0


async def test_only_a_jira_administrator_gets_a_link(world: World) -> None:
    refused = await world.forge_api("POST", "/api/quickbooks/connect-link", account_id="user-1")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_allowed"


async def test_a_link_of_a_site_that_left_connects_nothing(world: World) -> None:
    url = await connect_link(world)
    await world.uninstall_forge()

    page = await world.client.get(url, headers=HTML)

    assert page.status_code == 409
    assert 'data-outcome="tenant_inactive"' in page.text
    assert token_calls(world) == 0


async def test_the_answer_says_when_the_link_expires(world: World) -> None:
    response = await world.forge_api("POST", "/api/quickbooks/connect-link")
    expires_at = datetime.fromisoformat(response.json()["expires_at"])
    now = world.runtime.quickbooks.now()
    assert 299 <= (expires_at - now).total_seconds() <= 300
