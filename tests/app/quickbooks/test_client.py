"""The QuickBooks client against the emulator: minorversion on every call, requestid on
writes, Decimal amounts, faults as typed errors, retries honouring Retry-After, and the
per-realm limits."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from app.quickbooks import service as quickbooks
from app.quickbooks.api_errors import (
    AmountCalculationError,
    DuplicateDocNumberError,
    ObjectNotFoundError,
    QuickBooksAuthenticationError,
    QuickBooksValidationError,
    ServerError,
    StaleObjectError,
    ThrottledError,
)
from app.quickbooks.client import QuickBooksApi, QuickBooksClient, QuickBooksEndpoints
from app.quickbooks.errors import app_error
from app.tenants import repository as tenants
from sandbox.quickbooks import QuickBooksSandbox
from tests.support.apps import RecordedSleeps
from tests.support.world import World

INVOICE_ROUTE = "/v3/company/{realmId}/invoice"
COMPANY_INFO_ROUTE = "/v3/company/{realmId}/companyinfo/{companyId}"


async def _api(world: World) -> QuickBooksApi:
    async with world.runtime.sessions() as session:
        (installation,) = world.site.installations.values()
        tenant = await tenants.get_by_client_key(session, installation.client_key)
        assert tenant is not None
    return await quickbooks.authorized_api(world.runtime, tenant.id)


def _invoice(world: World, customer_id: str, **extra: Any) -> dict[str, Any]:
    item = world.quickbooks.services_item(world.realm_id)["Id"]
    return {
        "CustomerRef": {"value": customer_id},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("900.00"),
                "Description": "Build the invoice page",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item},
                    "Qty": Decimal("7.50"),
                    "UnitPrice": Decimal("120.00"),
                },
            }
        ],
        **extra,
    }


@pytest.fixture
def customer_id(connected: World) -> str:
    return str(connected.quickbooks.add_customer(connected.realm_id, "Globex")["Id"])


async def test_every_call_carries_minorversion(connected: World, customer_id: str) -> None:
    connected.quickbooks.require_minorversion = True
    api = await _api(connected)

    await api.company_info()
    await api.preferences()
    created = await api.create_invoice(_invoice(connected, customer_id), requestid="inv-1")
    await api.read_invoice(created["Id"])
    await api.update_invoice(created["Id"], created["SyncToken"], {"PrivateNote": "hi"})
    await api.query("SELECT * FROM Customer")
    await api.cdc(["Invoice", "Payment"], connected.runtime.quickbooks.now() - timedelta(days=1))
    await api.batch([{"bId": "1", "Query": "SELECT * FROM Item"}])
    await api.find_or_create_service_item("Consulting hours")

    calls = connected.quickbooks.calls
    assert calls.without_minorversion() == []
    assert {c.minorversion for c in calls.calls if c.route.startswith("/v3/")} == {"75"}


async def test_amounts_go_and_come_back_as_decimals(connected: World, customer_id: str) -> None:
    api = await _api(connected)

    created = await api.create_invoice(_invoice(connected, customer_id), requestid="inv-1")

    assert created["TotalAmt"] == Decimal("900.00")
    assert isinstance(created["Balance"], Decimal)
    line = created["Line"][0]
    assert line["SalesItemLineDetail"]["Qty"] == Decimal("7.5")


async def test_a_create_repeated_with_its_requestid_makes_one_invoice(
    connected: World, customer_id: str
) -> None:
    api = await _api(connected)
    body = _invoice(connected, customer_id, DocNumber="INV-7")

    first = await api.create_invoice(body, requestid="w360-invoice-7")
    second = await api.create_invoice(body, requestid="w360-invoice-7")

    assert first["Id"] == second["Id"]
    assert len(await api.find_invoices_by_doc_number("INV-7")) == 1
    assert [c.requestid for c in connected.quickbooks.calls.calls if c.route == INVOICE_ROUTE] == [
        "w360-invoice-7",
        "w360-invoice-7",
    ]


async def test_faults_become_typed_errors(connected: World, customer_id: str) -> None:
    api = await _api(connected)
    created = await api.create_invoice(
        _invoice(connected, customer_id, DocNumber="INV-1"), requestid="a"
    )

    with pytest.raises(DuplicateDocNumberError) as duplicate:
        await api.create("Invoice", _invoice(connected, customer_id, DocNumber="INV-1"))
    assert duplicate.value.code == "6140"
    assert duplicate.value.intuit_tid
    assert duplicate.value.detail

    wrong = _invoice(connected, customer_id)
    wrong["Line"][0]["Amount"] = Decimal("901.00")
    with pytest.raises(AmountCalculationError) as amount:
        await api.create("Invoice", wrong)
    assert amount.value.code == "6070"

    await api.update_invoice(created["Id"], created["SyncToken"], {"PrivateNote": "one"})
    with pytest.raises(StaleObjectError) as stale:
        await api.update_invoice(created["Id"], created["SyncToken"], {"PrivateNote": "two"})
    assert stale.value.code == "5010"

    with pytest.raises(ObjectNotFoundError) as missing:
        await api.read_invoice("987654")
    assert missing.value.code == "610"

    with pytest.raises(QuickBooksValidationError) as too_long:
        await api.create("Invoice", _invoice(connected, customer_id, DocNumber="X" * 22))
    assert too_long.value.code == "2050"

    error = app_error(stale.value)
    assert error.code == "quickbooks_rejected"
    assert error.status_code == 422


async def test_throttling_with_an_xml_body_is_retried_after_retry_after(
    connected: World,
) -> None:
    api = await _api(connected)
    connected.quickbooks.calls.reset()
    connected.qbo_company.faults.fail_next(2, status=429, retry_after=7)  # type: ignore[union-attr]

    info = await api.company_info()

    assert info["CompanyName"] == "Acme Books"
    assert connected.sleeps.delays[-2:] == [7.0, 7.0]
    assert connected.quickbooks.calls.count("GET", COMPANY_INFO_ROUTE) == 3


async def test_a_retry_after_date_is_read_against_the_injected_clock(connected: World) -> None:
    """The QBO client's retries run on the one policy (connect.retry) with the app's clock,
    not the machine's: Intuit's clock is 30 minutes ahead here, and its HTTP-date says
    "7 seconds from now" by that clock."""
    api = await _api(connected)
    clock = connected.quickbooks.clock
    clock.freeze()
    clock.advance(1800)
    at = clock.now_s()
    retry_at = float(int(at) + 7)
    connected.quickbooks.calls.reset()
    connected.qbo_company.faults.fail_next(  # type: ignore[union-attr]
        1, status=429, retry_after=formatdate(retry_at, usegmt=True)
    )

    info = await api.company_info()

    assert info["CompanyName"] == "Acme Books"
    # Read with time.time() the date is 30 minutes away: past max_retry_after, no retry.
    assert connected.sleeps.delays[-1:] == [pytest.approx(retry_at - at)]
    assert connected.quickbooks.calls.count("GET", COMPANY_INFO_ROUTE) == 2


async def test_throttling_that_does_not_stop_raises_a_throttled_error(connected: World) -> None:
    api = await _api(connected)
    connected.qbo_company.faults.fail_next(5, status=429)  # type: ignore[union-attr]

    with pytest.raises(ThrottledError) as throttled:
        await api.company_info()

    assert throttled.value.code == "3001"
    assert throttled.value.status == 429
    assert "ThrottleExceeded" in throttled.value.message
    assert app_error(throttled.value).code == "quickbooks_throttled"
    # Backoff with jitter, growing: never more than the cap.
    assert len(connected.sleeps.delays) == 4
    assert all(0 <= d <= 30 for d in connected.sleeps.delays)


async def test_server_errors_are_retried_only_when_repeating_is_safe(
    connected: World, customer_id: str
) -> None:
    api = await _api(connected)
    faults = connected.qbo_company.faults  # type: ignore[union-attr]

    faults.fail_next(1, status=503)
    assert (await api.company_info())["CompanyName"] == "Acme Books"

    # A create without a requestid may have happened: it is not sent twice.
    faults.fail_next(1, status=500, method="POST", route=INVOICE_ROUTE)
    with pytest.raises(ServerError):
        await api.create("Invoice", _invoice(connected, customer_id))
    assert connected.quickbooks.calls.count("POST", INVOICE_ROUTE) == 1

    # With a requestid, it is.
    faults.fail_next(1, status=500, method="POST", route=INVOICE_ROUTE)
    created = await api.create_invoice(_invoice(connected, customer_id), requestid="safe-1")
    assert created["Id"]
    assert connected.quickbooks.calls.count("POST", INVOICE_ROUTE) == 3


async def test_a_refused_token_raises_an_authentication_error() -> None:
    class BadTokens:
        async def access_token(self) -> str:
            return "not-a-token"

        async def renew_access_token(self, rejected: str) -> str:
            return "still-not-a-token"

    qbo = QuickBooksSandbox()
    company = qbo.add_company()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=qbo.app)) as http:
        client = QuickBooksClient(
            http,
            QuickBooksEndpoints("https://q/a", "https://q/t", "https://q/r", "https://q"),
            client_id="x",
            client_secret="y",
        )
        with pytest.raises(QuickBooksAuthenticationError) as refused:
            await client.api(company.realm_id, BadTokens()).company_info()
    await qbo.aclose()
    assert refused.value.code == "3200"
    assert refused.value.status == 401
    assert qbo.calls.count() == 2  # tried, renewed once, tried again


async def test_at_most_ten_calls_are_in_flight_per_realm(connected: World) -> None:
    api = await _api(connected)
    company = connected.qbo_company
    assert company is not None
    company.faults.latency_seconds = 0.01

    infos = await asyncio.gather(*(api.company_info() for _ in range(25)))

    assert len(infos) == 25
    assert company.limits.throttled == 0
    assert connected.sleeps.delays == []


async def test_calls_per_minute_stay_under_the_limit(connected: World) -> None:
    moments = iter([0.0, 1.0, 2.0, 3.0, 4.0, 61.0])
    sleeps = RecordedSleeps()
    runtime = connected.runtime
    client = QuickBooksClient(
        runtime.http,
        runtime.quickbooks.endpoints,
        client_id="x",
        client_secret="y",
        max_calls_per_minute=3,
        sleep=sleeps,
        monotonic=lambda: next(moments),
    )
    tokens = (await _api(connected))._tokens

    for _ in range(5):
        await client.api(connected.realm_id, tokens).company_info()

    # The 4th and 5th calls wait for the 1st and 2nd to leave the 60 s window.
    assert sleeps.delays == [57.0, 57.0]


async def test_query_all_reads_every_page(connected: World) -> None:
    for n in range(25):
        connected.quickbooks.add_customer(connected.realm_id, f"Customer {n:02d}")
    api = await _api(connected)

    rows = await api.query_all("SELECT * FROM Customer", "Customer", page_size=10)

    assert len(rows) == 25
    assert connected.quickbooks.calls.count("POST", "/v3/company/{realmId}/query") == 3


async def test_quoted_query_values_survive_apostrophes(connected: World) -> None:
    connected.quickbooks.add_item(connected.realm_id, "Rock 'n' Roll hours")
    api = await _api(connected)

    item = await api.find_item("Rock 'n' Roll hours")

    assert item is not None
    assert item["Name"] == "Rock 'n' Roll hours"


async def test_find_or_create_service_item(connected: World) -> None:
    api = await _api(connected)

    created = await api.find_or_create_service_item("Consulting hours", requestid="item-1")
    found = await api.find_or_create_service_item("Consulting hours")

    assert created["Id"] == found["Id"]
    assert created["Type"] == "Service"


async def test_cdc_and_batch(connected: World, customer_id: str) -> None:
    api = await _api(connected)
    since = connected.runtime.quickbooks.now() - timedelta(hours=1)
    created = await api.create_invoice(_invoice(connected, customer_id), requestid="c-1")

    changes = await api.cdc(["Invoice", "Payment"], since)
    answers = await api.batch(
        [
            {"bId": "1", "Query": "SELECT * FROM Customer"},
            {"bId": "2", "operation": "create", "Invoice": _invoice(connected, customer_id)},
        ],
        requestid="batch-1",
    )

    assert [i["Id"] for i in changes["Invoice"]] == [created["Id"]]
    assert [a["bId"] for a in answers] == ["1", "2"]
    assert answers[1]["Invoice"]["TotalAmt"] == Decimal("900.00")
