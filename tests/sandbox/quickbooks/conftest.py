"""Fixtures for the QuickBooks sandbox tests: a frozen clock, one company with customers,
one registered app, and HTTP into the sandbox through `httpx.ASGITransport`."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.quickbooks import Company, OAuthClient, QuickBooksSandbox, SandboxClock

NOW_S = 1_793_696_400.0  # 2026-11-03T09:00:00Z
BASE_URL = "https://qbo.sandbox.test"
REDIRECT_URI = "https://app.example.com/quickbooks/callback"
MINOR = {"minorversion": "75"}


@pytest.fixture
def qbo_clock() -> SandboxClock:
    return SandboxClock(NOW_S)


@pytest.fixture
async def qbo(qbo_clock: SandboxClock) -> AsyncIterator[QuickBooksSandbox]:
    sandbox = QuickBooksSandbox(clock=qbo_clock)
    yield sandbox
    await sandbox.aclose()


@pytest.fixture
def company(qbo: QuickBooksSandbox) -> Company:
    return qbo.add_company("Acme Books")


@pytest.fixture
def client(qbo: QuickBooksSandbox, company: Company) -> OAuthClient:
    return qbo.register_client(
        client_id="w360-client", client_secret="w360-secret", redirect_uris=[REDIRECT_URI]
    )


@pytest.fixture
async def http(qbo: QuickBooksSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """How the app reaches Intuit: HTTP into the sandbox's ASGI app."""
    transport = httpx.ASGITransport(app=qbo.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


def basic(client: OAuthClient) -> dict[str, str]:
    raw = f"{client.client_id}:{client.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def authorize(
    http: httpx.AsyncClient, client: OAuthClient, **overrides: str
) -> dict[str, str]:
    params = {
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting openid",
        "state": "st4te",
        **overrides,
    }
    response = await http.get("/connect/oauth2", params=params)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def exchange(http: httpx.AsyncClient, client: OAuthClient, code: str) -> httpx.Response:
    return await http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        headers={**basic(client), "Accept": "application/json"},
    )


async def refresh(http: httpx.AsyncClient, client: OAuthClient, token: str) -> httpx.Response:
    return await http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers=basic(client),
    )


@dataclass
class Api:
    """The app's view of one realm: bearer token, minorversion on every call."""

    http: httpx.AsyncClient
    realm_id: str
    access_token: str
    calls: list[str] = field(default_factory=list)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"}

    def url(self, path: str) -> str:
        return f"/v3/company/{self.realm_id}/{path.lstrip('/')}"

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.http.get(
            self.url(path), params={**MINOR, **params}, headers=self._headers()
        )

    async def post(self, path: str, body: Any, **params: str) -> httpx.Response:
        return await self.http.post(
            self.url(path), params={**MINOR, **params}, json=body, headers=self._headers()
        )

    async def query(self, text: str) -> httpx.Response:
        return await self.get("query", query=text)


@pytest.fixture
async def api(
    qbo: QuickBooksSandbox, company: Company, client: OAuthClient, http: httpx.AsyncClient
) -> Api:
    tokens = qbo.connect(client.client_id, company.realm_id)
    return Api(http, company.realm_id, str(tokens["access_token"]))


@pytest.fixture
def customer(qbo: QuickBooksSandbox, company: Company) -> dict[str, Any]:
    return qbo.add_customer(company.realm_id, "Globex Corporation", email="ap@globex.example")


@pytest.fixture
def item_id(qbo: QuickBooksSandbox, company: Company) -> str:
    return str(qbo.services_item(company.realm_id)["Id"])


def invoice_body(
    customer_id: str,
    item_id: str,
    *,
    qty: str = "7.5",
    price: str = "120.00",
    amount: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    from decimal import Decimal

    value = (
        amount
        if amount is not None
        else str((Decimal(qty) * Decimal(price)).quantize(Decimal("0.01")))
    )
    return {
        "CustomerRef": {"value": customer_id},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": float(value),
                "Description": "Build the invoice page",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item_id},
                    "Qty": float(qty),
                    "UnitPrice": float(price),
                },
            }
        ],
        **extra,
    }


def fault(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"Fault", "time"}
    error = body["Fault"]["Error"][0]
    assert error["code"] == code, error
    assert {"Message", "Detail", "code"} <= set(error)
    return dict(error)
