"""Intuit's OAuth 2.0 authorization-code flow as the sandbox plays it: one-use codes,
strict refresh-token rotation, revoke, and API authentication with the tokens."""

from __future__ import annotations

import httpx

from sandbox.quickbooks import Company, OAuthClient, QuickBooksSandbox
from tests.sandbox.quickbooks.conftest import (
    MINOR,
    REDIRECT_URI,
    authorize,
    basic,
    exchange,
    refresh,
)


async def _company_info(http: httpx.AsyncClient, realm: str, token: str) -> httpx.Response:
    return await http.get(
        f"/v3/company/{realm}/companyinfo/{realm}",
        params=MINOR,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


async def test_the_whole_dance(
    qbo: QuickBooksSandbox, company: Company, client: OAuthClient, http: httpx.AsyncClient
) -> None:
    back = await authorize(http, client)
    assert back["state"] == "st4te"
    assert back["realmId"] == company.realm_id

    response = await exchange(http, client, back["code"])
    assert response.status_code == 200, response.text
    assert response.headers["intuit_tid"]
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 3600
    assert 8_000_000 < tokens["x_refresh_token_expires_in"] < 9_000_000

    info = await _company_info(http, company.realm_id, tokens["access_token"])
    assert info.status_code == 200
    assert info.json()["CompanyInfo"]["CompanyName"] == "Acme Books"
    assert info.headers["intuit_tid"]

    # Refresh: a NEW refresh token, the old one is dead at once.
    rotated = await refresh(http, client, tokens["refresh_token"])
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["access_token"] != tokens["access_token"]
    old = await refresh(http, client, tokens["refresh_token"])
    assert old.status_code == 400
    assert old.json()["error"] == "invalid_grant"
    assert qbo.refresh_count(company.realm_id) == 1
    assert (await refresh(http, client, new["refresh_token"])).status_code == 200
    assert qbo.refresh_count() == 2


async def test_a_reused_code_is_refused_and_revokes_its_tokens(
    company: Company, client: OAuthClient, http: httpx.AsyncClient
) -> None:
    code = (await authorize(http, client))["code"]
    tokens = (await exchange(http, client, code)).json()
    replay = await exchange(http, client, code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert (await _company_info(http, company.realm_id, tokens["access_token"])).status_code == 401
    assert (await refresh(http, client, tokens["refresh_token"])).json()["error"] == "invalid_grant"


async def test_access_token_expires_after_an_hour_and_refresh_after_100_days_idle(
    qbo: QuickBooksSandbox, company: Company, client: OAuthClient, http: httpx.AsyncClient
) -> None:
    tokens = (await exchange(http, client, (await authorize(http, client))["code"])).json()
    qbo.clock.advance(3599)
    assert (await _company_info(http, company.realm_id, tokens["access_token"])).status_code == 200
    qbo.clock.advance(1)
    expired = await _company_info(http, company.realm_id, tokens["access_token"])
    assert expired.status_code == 401
    body = expired.json()
    assert body["fault"]["error"][0]["code"] == "3200"
    assert body["fault"]["type"] == "AUTHENTICATION"
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]

    # Each refresh extends the rolling window; 101 idle days end it.
    qbo.clock.advance(days=99)
    tokens = (await refresh(http, client, tokens["refresh_token"])).json()
    qbo.clock.advance(days=101)
    late = await refresh(http, client, tokens["refresh_token"])
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_grant"


async def test_revoke_kills_the_connection(
    company: Company, client: OAuthClient, http: httpx.AsyncClient
) -> None:
    tokens = (await exchange(http, client, (await authorize(http, client))["code"])).json()
    response = await http.post(
        "/v2/oauth2/tokens/revoke", json={"token": tokens["refresh_token"]}, headers=basic(client)
    )
    assert response.status_code == 200
    assert (await _company_info(http, company.realm_id, tokens["access_token"])).status_code == 401
    assert (await refresh(http, client, tokens["refresh_token"])).status_code == 400


async def test_authorize_checks_the_client_redirect_and_scope(
    qbo: QuickBooksSandbox, client: OAuthClient, http: httpx.AsyncClient
) -> None:
    base = {
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "state": "s",
    }
    unknown = await http.get("/connect/oauth2", params={**base, "client_id": "nope"})
    assert unknown.status_code == 400
    elsewhere = await http.get(
        "/connect/oauth2", params={**base, "redirect_uri": "https://evil.example/cb"}
    )
    assert elsewhere.status_code == 400
    assert "location" not in elsewhere.headers
    assert (await authorize(http, client, scope="openid"))["error"] == "invalid_scope"
    assert (await authorize(http, client, response_type="token"))["error"] == (
        "unsupported_response_type"
    )
    qbo.deny_next_authorization()
    denied = await authorize(http, client)
    assert denied == {"error": "access_denied", "state": "st4te"}
    assert "code" in await authorize(http, client)  # the denial was for one attempt


async def test_token_endpoint_errors(
    company: Company, client: OAuthClient, http: httpx.AsyncClient
) -> None:
    code = (await authorize(http, client))["code"]
    wrong_secret = await http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        headers={"Authorization": "Basic d3Jvbmc6d3Jvbmc="},
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    other_redirect = await http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "https://x/cb"},
        headers=basic(client),
    )
    assert other_redirect.json()["error"] == "invalid_grant"
    odd = await http.post(
        "/oauth2/v1/tokens/bearer", data={"grant_type": "password"}, headers=basic(client)
    )
    assert odd.status_code == 400
    assert odd.json()["error"] == "unsupported_grant_type"


async def test_disconnect_and_failing_refresh_hooks(
    qbo: QuickBooksSandbox, company: Company, client: OAuthClient, http: httpx.AsyncClient
) -> None:
    tokens = qbo.connect(client.client_id, company.realm_id)
    qbo.fail_next_refresh(company.realm_id)
    failed = await refresh(http, client, str(tokens["refresh_token"]))
    assert failed.json()["error"] == "invalid_grant"

    tokens = qbo.connect(client.client_id, company.realm_id)
    qbo.expire_refresh_tokens(company.realm_id)
    assert (await refresh(http, client, str(tokens["refresh_token"]))).status_code == 400

    tokens = qbo.connect(client.client_id, company.realm_id)
    qbo.disconnect(company.realm_id)
    info = await _company_info(http, company.realm_id, str(tokens["access_token"]))
    assert info.status_code == 401


async def test_a_token_of_another_realm_is_forbidden(
    qbo: QuickBooksSandbox, company: Company, client: OAuthClient, http: httpx.AsyncClient
) -> None:
    other = qbo.add_company("Other Books")
    tokens = qbo.connect(client.client_id, company.realm_id)
    response = await _company_info(http, other.realm_id, str(tokens["access_token"]))
    assert response.status_code == 403
    assert response.json()["Fault"]["Error"][0]["code"] == "3100"
