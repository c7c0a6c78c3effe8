"""Connecting a QuickBooks company: OAuth with a signed, expiring, single-use state; an
idempotent callback; tokens stored encrypted; disconnect revokes."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from sqlalchemy import text

from app.quickbooks.state import issue_state, state_key
from tests.app.quickbooks.conftest import connection_row, token_calls
from tests.support.apps import TEST_SECRET_KEY
from tests.support.world import QBO_BASE_URL, QBO_CLIENT_ID, World


async def test_connect_sends_the_admin_to_intuit_with_a_signed_state(world: World) -> None:
    response = await world.start_quickbooks_connect()

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        QBO_BASE_URL + "/connect/oauth2"
    )
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == QBO_CLIENT_ID
    assert query["response_type"] == "code"
    assert query["scope"] == "com.intuit.quickbooks.accounting"
    assert query["redirect_uri"] == "https://worklog360.test/quickbooks/callback"
    claims = jwt.decode(query["state"], options={"verify_signature": False})
    assert claims["sub"] == "user-admin"
    assert claims["exp"] - claims["iat"] == 600
    assert response.headers["cache-control"] == "no-store"


async def test_full_connect_flow_stores_the_company_and_shows_it_connected(
    world: World,
) -> None:
    page = await world.connect_quickbooks()

    assert page.status_code == 200
    assert "QuickBooks is connected" in page.text
    assert "Acme Books" in page.text
    connection = await world.api("GET", "/api/quickbooks/connection", account_id="user-1")
    assert connection.status_code == 200
    body = connection.json()
    assert body["connected"] is True
    assert body["state"] == "connected"
    assert body["realm_id"] == world.realm_id
    assert body["company_name"] == "Acme Books"
    assert body["connected_at"] is not None
    assert body["days_left"] >= 99
    assert body["expires_at"] > body["connected_at"]
    assert world.quickbooks.calls.without_minorversion() == []


async def test_tokens_are_not_stored_in_clear(connected: World) -> None:
    grant = connected.quickbooks.authority.grants_for(connected.realm_id)[0]
    access_tokens = list(grant.access_tokens)
    async with connected.runtime.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM quickbooks_connections"))).all()
    dump = repr(rows)
    assert grant.refresh_token not in dump
    for token in access_tokens:
        assert token not in dump
    row = await connection_row(connected)
    assert row.refresh_token_encrypted is not None
    assert row.refresh_token_encrypted.startswith("v1.")


async def test_callback_repeated_shows_the_same_success_and_exchanges_the_code_once(
    world: World,
) -> None:
    world.quickbooks.approve_next_authorization(world.realm_id)
    started = await world.start_quickbooks_connect()
    back = await world.authorize_at_intuit(started.headers["location"])

    first = await world.follow_callback(back)
    second = await world.follow_callback(back)

    assert first.status_code == second.status_code == 200
    assert "Acme Books" in second.text
    assert token_calls(world) == 1
    # Intuit revokes everything a replayed code gave: the connection must still work.
    customers = await world.api("GET", "/api/quickbooks/customers")
    assert customers.status_code == 200, customers.text


async def test_concurrent_callbacks_exchange_the_code_once(world: World) -> None:
    world.quickbooks.approve_next_authorization(world.realm_id)
    started = await world.start_quickbooks_connect()
    back = await world.authorize_at_intuit(started.headers["location"])

    pages = await asyncio.gather(*(world.follow_callback(back) for _ in range(5)))

    assert token_calls(world) == 1
    assert {p.status_code for p in pages} <= {200, 202}
    assert any(p.status_code == 200 for p in pages)
    again = await world.follow_callback(back)
    assert again.status_code == 200


async def test_a_forged_state_is_refused(world: World) -> None:
    world.quickbooks.approve_next_authorization(world.realm_id)
    started = await world.start_quickbooks_connect()
    back = await world.authorize_at_intuit(started.headers["location"])
    params = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    claims = jwt.decode(params["state"], options={"verify_signature": False})
    forged = jwt.encode(claims, "not-our-key-0123456789-0123456789-abcdef", algorithm="HS256")

    page = await world.client.get("/quickbooks/callback?" + urlencode({**params, "state": forged}))

    assert page.status_code == 400
    assert 'data-outcome="state_invalid"' in page.text
    assert token_calls(world) == 0
    connection = await world.api("GET", "/api/quickbooks/connection")
    assert connection.json()["state"] == "disconnected"


async def test_a_state_altered_to_name_another_tenant_is_refused(world: World) -> None:
    world.quickbooks.approve_next_authorization(world.realm_id)
    started = await world.start_quickbooks_connect()
    back = await world.authorize_at_intuit(started.headers["location"])
    params = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    header, _payload, signature = params["state"].split(".")
    claims = jwt.decode(params["state"], options={"verify_signature": False})
    other = jwt.encode({**claims, "tid": claims["tid"] + 1}, "x" * 32, algorithm="HS256")
    tampered = ".".join([header, other.split(".")[1], signature])

    page = await world.client.get(
        "/quickbooks/callback?" + urlencode({**params, "state": tampered})
    )

    assert page.status_code == 400
    assert 'data-outcome="state_invalid"' in page.text
    assert token_calls(world) == 0


async def test_an_expired_state_is_refused(world: World) -> None:
    world.quickbooks.approve_next_authorization(world.realm_id)
    started = await world.start_quickbooks_connect()
    back = await world.authorize_at_intuit(started.headers["location"])
    world.quickbooks.clock.advance(601)

    page = await world.follow_callback(back)

    assert page.status_code == 400
    assert 'data-outcome="state_expired"' in page.text
    assert "10 minutes" in page.text
    assert token_calls(world) == 0


async def test_a_used_state_is_refused_with_another_code(world: World) -> None:
    world.quickbooks.approve_next_authorization(world.realm_id)
    started = await world.start_quickbooks_connect()
    location = started.headers["location"]
    back = await world.authorize_at_intuit(location)
    assert (await world.follow_callback(back)).status_code == 200
    # The same state sent through Intuit again yields a new code: the state is spent.
    again = await world.authorize_at_intuit(location)

    page = await world.follow_callback(again)

    assert page.status_code == 400
    assert 'data-outcome="state_used"' in page.text
    assert token_calls(world) == 1


async def test_a_state_started_in_another_browser_is_refused(world: World) -> None:
    """Login CSRF: someone starts a connect on their own site and sends the victim the
    callback link; without the starter's cookie it connects nothing."""
    world.quickbooks.approve_next_authorization(world.realm_id)
    started = await world.start_quickbooks_connect()
    back = await world.authorize_at_intuit(started.headers["location"])
    world.client.cookies.clear()

    page = await world.follow_callback(back)

    assert page.status_code == 403
    assert 'data-outcome="state_other_browser"' in page.text
    assert token_calls(world) == 0


async def test_a_state_for_a_site_that_left_is_refused(world: World) -> None:
    key = state_key(TEST_SECRET_KEY)
    state, nonce = issue_state(
        key, tenant_id=999_999, account_id="user-admin", now=world.runtime.quickbooks.now()
    )
    world.client.cookies.set(f"w360_qbo_{nonce}", "1", path="/quickbooks/callback")

    page = await world.client.get(
        "/quickbooks/callback?"
        + urlencode({"state": state, "code": "AB123", "realmId": world.realm_id})
    )

    assert page.status_code == 400
    assert 'data-outcome="tenant_inactive"' in page.text
    assert token_calls(world) == 0


async def test_the_user_declining_at_intuit_is_explained(world: World) -> None:
    world.quickbooks.deny_next_authorization()
    started = await world.start_quickbooks_connect()
    back = await world.authorize_at_intuit(started.headers["location"])

    page = await world.follow_callback(back)

    assert page.status_code == 400
    assert 'data-outcome="access_denied"' in page.text
    assert "Settings → Integrations" in page.text


async def test_a_company_connected_to_another_site_is_refused(world: World) -> None:
    other_site = world.jira.add_site("https://globex.atlassian.net")
    other_site.add_user("Gus Admin", account_id="gus", global_permissions=["ADMINISTER"])
    await world.install(other_site)
    await world.settle()
    assert (await world.connect_quickbooks()).status_code == 200

    page = await world.connect_quickbooks(site=other_site, account_id="gus")

    assert page.status_code == 409
    assert 'data-outcome="realm_in_use"' in page.text
    assert token_calls(world) == 1
    theirs = await world.api("GET", "/api/quickbooks/connection", site=other_site, account_id="gus")
    assert theirs.json()["state"] == "disconnected"


async def test_non_admins_cannot_connect_or_disconnect(connected: World) -> None:
    started = await connected.start_quickbooks_connect(account_id="user-1")
    assert started.status_code == 403
    assert started.json()["error"]["code"] == "not_allowed"

    response = await connected.api("DELETE", "/api/quickbooks/connection", account_id="user-1")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_allowed"


async def test_connect_needs_a_jira_token(world: World) -> None:
    response = await world.client.get("/quickbooks/connect")
    assert response.status_code == 401


async def test_disconnect_revokes_at_intuit_and_forgets_the_tokens(connected: World) -> None:
    response = await connected.api("DELETE", "/api/quickbooks/connection")

    assert response.status_code == 200
    assert response.json() == {
        "connected": False,
        "realm_id": None,
        "company_name": None,
        "connected_at": None,
        "expires_at": None,
        "days_left": None,
        "state": "disconnected",
    }
    assert connected.quickbooks.authority.grants_for(connected.realm_id) == []
    row = await connection_row(connected)
    assert row.refresh_token_encrypted is None
    assert row.access_token_encrypted is None
    customers = await connected.api("GET", "/api/quickbooks/customers")
    assert customers.status_code == 409
    assert customers.json()["error"]["code"] == "quickbooks_not_connected"


async def test_reconnect_page_explains_where_to_reconnect(world: World) -> None:
    page = await world.client.get("/quickbooks/reconnect?realmId=" + world.realm_id)

    assert page.status_code == 200
    assert "Settings → Integrations" in page.text
    assert "Reconnect" in page.text


async def test_a_disconnected_company_can_be_connected_by_another_site(connected: World) -> None:
    assert (await connected.api("DELETE", "/api/quickbooks/connection")).status_code == 200
    other_site = connected.jira.add_site("https://globex.atlassian.net")
    other_site.add_user("Gus Admin", account_id="gus", global_permissions=["ADMINISTER"])
    await connected.install(other_site)
    await connected.settle()

    page = await connected.connect_quickbooks(site=other_site, account_id="gus")

    assert page.status_code == 200
    theirs = await connected.api(
        "GET", "/api/quickbooks/connection", site=other_site, account_id="gus"
    )
    assert theirs.json()["realm_id"] == connected.realm_id
    ours = await connected.api("GET", "/api/quickbooks/connection")
    assert ours.json()["state"] == "disconnected"


async def test_connecting_another_company_forgets_the_old_ones_customers_and_revokes_it(
    connected: World,
) -> None:
    qbo = connected.quickbooks
    qbo.add_customer(connected.realm_id, "Old Customer")
    await connected.api("GET", "/api/quickbooks/customers")
    second = qbo.add_company("Second Books")
    qbo.add_customer(second.realm_id, "New Customer")

    page = await connected.connect_quickbooks(realm_id=second.realm_id)

    assert page.status_code == 200
    assert "Second Books" in page.text
    assert qbo.authority.grants_for(connected.realm_id) == []
    customers = await connected.api("GET", "/api/quickbooks/customers")
    assert [c["display_name"] for c in customers.json()["items"]] == ["New Customer"]


async def test_a_browser_gets_an_html_page_when_it_may_not_connect(world: World) -> None:
    token = world.site.context_token(world.app_key, "user-1")
    response = await world.client.get(
        "/quickbooks/connect?" + urlencode({"jwt": token}), headers={"Accept": "text/html"}
    )

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "Only Jira administrators" in response.text
