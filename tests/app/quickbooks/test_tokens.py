"""Tokens that never get lost: refreshed before expiry and once on a 401, single-flighted,
rotated refresh tokens committed before use, kept alive daily, and `invalid_grant` turned
into a clear "reconnect"."""

from __future__ import annotations

import asyncio

from app.quickbooks.jobs import keep_connections_alive
from app.quickbooks.tokens import access_token_of, refresh_token_of
from tests.app.quickbooks.conftest import connection_row, token_calls
from tests.support.world import World

HOUR = 3600


async def test_twenty_concurrent_calls_with_an_expired_access_token_refresh_once(
    connected: World,
) -> None:
    connected.quickbooks.clock.advance(HOUR + 1)
    before = token_calls(connected)

    responses = await asyncio.gather(
        *(connected.api("GET", "/api/quickbooks/customers?refresh=true") for _ in range(20))
    )

    assert [r.status_code for r in responses] == [200] * 20
    assert connected.quickbooks.refresh_count(connected.realm_id) == 1
    assert token_calls(connected) == before + 1
    assert connected.quickbooks.company(connected.realm_id).limits.throttled == 0


async def test_an_access_token_close_to_expiry_is_refreshed_before_use(
    connected: World,
) -> None:
    connected.quickbooks.clock.advance(HOUR - 4 * 60)  # 4 minutes left: inside the margin

    response = await connected.api("GET", "/api/quickbooks/customers")

    assert response.status_code == 200
    assert connected.quickbooks.refresh_count(connected.realm_id) == 1
    # No call was sent with the old token and refused.
    assert connected.quickbooks.calls.count(route="/v3/company/{realmId}/query") == 1


async def test_a_401_refreshes_once_and_retries(connected: World) -> None:
    # Intuit ended the access token early; our clock still thinks it is good.
    connected.quickbooks.expire_access_tokens(connected.realm_id)

    response = await connected.api("GET", "/api/quickbooks/customers")

    assert response.status_code == 200, response.text
    assert connected.quickbooks.refresh_count(connected.realm_id) == 1
    assert connected.quickbooks.calls.count(route="/v3/company/{realmId}/query") == 2


async def test_the_rotated_refresh_token_is_persisted(connected: World) -> None:
    first = refresh_token_of(connected.runtime.secrets, await connection_row(connected))
    connected.quickbooks.clock.advance(HOUR + 1)

    assert (await connected.api("GET", "/api/quickbooks/customers")).status_code == 200

    row = await connection_row(connected)
    grant = connected.quickbooks.authority.grants_for(connected.realm_id)[0]
    assert refresh_token_of(connected.runtime.secrets, row) == grant.refresh_token != first
    assert access_token_of(connected.runtime.secrets, row) in grant.access_tokens
    assert row.token_generation == 2
    # The next expiry refreshes with the new token (the old one is dead at Intuit).
    connected.quickbooks.clock.advance(HOUR + 1)
    refreshed = await connected.api("GET", "/api/quickbooks/customers?refresh=true")
    assert refreshed.status_code == 200
    assert connected.quickbooks.refresh_count(connected.realm_id) == 2


async def test_invalid_grant_marks_the_connection_expired_and_asks_to_reconnect(
    connected: World,
) -> None:
    connected.quickbooks.fail_next_refresh(connected.realm_id)
    connected.quickbooks.clock.advance(HOUR + 1)

    response = await connected.api("GET", "/api/quickbooks/customers?refresh=true")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "quickbooks_reconnect_required"
    assert "Reconnect QuickBooks in Settings → Integrations" in error["message"]
    state = (await connected.api("GET", "/api/quickbooks/connection")).json()
    assert state["state"] == "expired"
    assert state["connected"] is False
    assert state["days_left"] == 0
    assert state["realm_id"] == connected.realm_id
    # Retrying never helps, so it is not tried again.
    again = await connected.api("GET", "/api/quickbooks/customers")
    assert again.json()["error"]["code"] == "quickbooks_reconnect_required"
    assert token_calls(connected) == 2


async def test_a_user_disconnecting_in_quickbooks_asks_for_a_reconnect(connected: World) -> None:
    connected.quickbooks.disconnect(connected.realm_id)

    response = await connected.api("GET", "/api/quickbooks/customers?refresh=true")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "quickbooks_reconnect_required"


async def test_reconnecting_an_expired_connection_brings_it_back(connected: World) -> None:
    connected.quickbooks.fail_next_refresh(connected.realm_id)
    connected.quickbooks.clock.advance(HOUR + 1)
    await connected.api("GET", "/api/quickbooks/customers?refresh=true")

    page = await connected.connect_quickbooks()

    assert page.status_code == 200
    state = (await connected.api("GET", "/api/quickbooks/connection")).json()
    assert state["state"] == "connected"
    response = await connected.api("GET", "/api/quickbooks/customers?refresh=true")
    assert response.status_code == 200


async def test_the_daily_refresh_keeps_the_connection_alive_past_100_days(
    connected: World,
) -> None:
    for _ in range(150):
        connected.quickbooks.clock.advance(days=1)
        assert await keep_connections_alive(connected.runtime) == 1

    state = (await connected.api("GET", "/api/quickbooks/connection")).json()
    assert state["state"] == "connected"
    assert state["days_left"] >= 99
    assert connected.quickbooks.refresh_count(connected.realm_id) == 150
    response = await connected.api("GET", "/api/quickbooks/customers?refresh=true")
    assert response.status_code == 200


async def test_the_keep_alive_refreshes_once_a_day_however_often_it_runs(
    connected: World,
) -> None:
    connected.quickbooks.clock.advance(days=1)
    refreshed = await asyncio.gather(*(keep_connections_alive(connected.runtime) for _ in range(3)))
    assert sum(refreshed) == 1
    connected.quickbooks.clock.advance(HOUR)
    assert await keep_connections_alive(connected.runtime) == 0
    assert connected.quickbooks.refresh_count(connected.realm_id) == 1


async def test_an_unused_connection_shows_expiring_then_expired(connected: World) -> None:
    connected.quickbooks.clock.advance(days=90)
    state = (await connected.api("GET", "/api/quickbooks/connection")).json()
    assert state["state"] == "expiring"
    assert state["connected"] is True
    assert 9 <= state["days_left"] < 14

    connected.quickbooks.clock.advance(days=12)
    state = (await connected.api("GET", "/api/quickbooks/connection")).json()
    assert state["state"] == "expired"
    assert state["connected"] is False
    response = await connected.api("GET", "/api/quickbooks/customers")
    assert response.json()["error"]["code"] == "quickbooks_reconnect_required"
