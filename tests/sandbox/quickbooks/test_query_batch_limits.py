"""The query language, batch, and how the sandbox throttles and fails like QBO."""

from __future__ import annotations

import asyncio
from typing import Any
from xml.etree import ElementTree

import httpx

from sandbox.quickbooks import Company, QuickBooksSandbox, SandboxClock
from tests.sandbox.quickbooks.conftest import Api, fault, invoice_body


def _names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["DisplayName"] for c in response.json()["QueryResponse"].get("Customer", [])]


async def test_paging_escaping_like_and_active(
    qbo: QuickBooksSandbox, api: Api, company: Company
) -> None:
    for name in ("Acme Corp", "O'Reilly Media", "Zürich Versicherung", "acme labs", "Beta"):
        qbo.add_customer(company.realm_id, name)
    qbo.add_customer(company.realm_id, "Acme Old", active=False)

    page = await api.query(
        "select * from Customer orderby DisplayName startposition 2 maxresults 2"
    )
    body = page.json()["QueryResponse"]
    assert (body["startPosition"], body["maxResults"]) == (2, 2)
    assert _names(page) == ["acme labs", "Beta"]

    assert _names(await api.query("select * from Customer where DisplayName = 'O\\'Reilly Media'"))
    assert _names(await api.query("SELECT * FROM Customer WHERE DisplayName LIKE '%acme%'")) == [
        "Acme Corp",
        "acme labs",
    ]
    assert _names(await api.query("select * from Customer where Active = false")) == ["Acme Old"]
    both = await api.query("select * from Customer where Active in (true, false)")
    assert len(_names(both)) == 6
    assert _names(
        await api.query("select * from Customer where DisplayName = 'Zürich Versicherung'")
    )
    ids = [c["Id"] for c in both.json()["QueryResponse"]["Customer"]][:2]
    by_id = await api.query(f"select * from Customer where Id in ('{ids[0]}', '{ids[1]}')")
    assert len(_names(by_id)) == 2
    empty = await api.query("select * from Customer where DisplayName = 'Nobody'")
    assert empty.json()["QueryResponse"] == {}
    count = await api.query("select count(*) from Customer")
    assert count.json()["QueryResponse"] == {"totalCount": 5}

    posted = await api.http.post(
        api.url("query"),
        params={"minorversion": "75"},
        content="select * from Customer where DisplayName like 'Bet%'",
        headers={**api._headers(), "Content-Type": "application/text"},
    )
    assert _names(posted) == ["Beta"]


async def test_query_errors_and_time_filters(
    qbo: QuickBooksSandbox, api: Api, company: Company
) -> None:
    fault(await api.query("select * from Customer where DisplayName = 'O'Reilly'"), 400, "4000")
    fault(await api.query("select from Customer"), 400, "4000")
    fault(await api.query("select * from customer"), 400, "4000")
    fault(await api.query("select * from Customer where Nope = '1'"), 400, "4001")
    fault(
        await api.query("select * from Customer where Active = true or Active = false"), 400, "4000"
    )

    qbo.add_customer(company.realm_id, "Early")
    qbo.clock.advance(1800)
    qbo.add_customer(company.realm_id, "Late")
    recent = await api.query(
        "select * from Customer where MetaData.LastUpdatedTime > '2026-11-03T01:15:00-08:00'"
    )
    assert _names(recent) == ["Late"]


async def test_maxresults_stops_at_1000(qbo: QuickBooksSandbox, api: Api, company: Company) -> None:
    for n in range(1005):
        qbo.add_customer(company.realm_id, f"Customer {n:04d}")
    page = await api.query("select * from Customer maxresults 5000")
    assert page.json()["QueryResponse"]["maxResults"] == 1000


async def test_batch(api: Api, customer: dict[str, Any], item_id: str) -> None:
    request = {
        "BatchItemRequest": [
            {"bId": "1", "operation": "create", "Invoice": invoice_body(customer["Id"], item_id)},
            {"bId": "2", "Query": "select * from Customer"},
            {"bId": "3", "operation": "create", "Invoice": {"Line": []}},
        ]
    }
    response = await api.post("batch", request, requestid="batch-1")
    assert response.status_code == 200, response.text
    items = {r["bId"]: r for r in response.json()["BatchItemResponse"]}
    assert items["1"]["Invoice"]["TotalAmt"] == 900.0
    assert items["2"]["QueryResponse"]["Customer"][0]["Id"] == customer["Id"]
    assert items["3"]["Fault"]["Error"][0]["code"] == "2020"
    replay = await api.post("batch", request, requestid="batch-1")
    assert replay.json() == response.json()

    void = {
        "BatchItemRequest": [
            {
                "bId": "v",
                "operation": "update",
                "optionsData": "void",
                "Invoice": {"Id": items["1"]["Invoice"]["Id"], "SyncToken": "0"},
            }
        ]
    }
    voided = (await api.post("batch", void)).json()["BatchItemResponse"][0]["Invoice"]
    assert voided["TotalAmt"] == 0.0
    too_many = {
        "BatchItemRequest": [{"bId": str(i), "Query": "select * from Item"} for i in range(31)]
    }
    fault(await api.post("batch", too_many), 400, "6000")


def _throttle_code(response: httpx.Response) -> str:
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/xml")
    ns = {"i": "http://schema.intuit.com/finance/v3"}
    error = ElementTree.fromstring(response.text).find("i:Fault/i:Error", ns)  # noqa: S314
    assert error is not None
    message = error.find("i:Message", ns)
    assert message is not None and "ThrottleExceeded" in (message.text or "")
    return error.attrib["code"]


async def test_throttling_answers_429_in_xml(
    qbo: QuickBooksSandbox, api: Api, company: Company
) -> None:
    company.limits.per_minute = 3
    for _ in range(3):
        assert (await api.get(f"companyinfo/{company.realm_id}")).status_code == 200
    assert _throttle_code(await api.get(f"companyinfo/{company.realm_id}")) == "3001"
    qbo.clock.advance(60)
    assert (await api.get(f"companyinfo/{company.realm_id}")).status_code == 200
    assert company.limits.throttled == 1


async def test_concurrency_limit(api: Api, company: Company, qbo: QuickBooksSandbox) -> None:
    release = asyncio.Event()
    both_in = asyncio.Event()
    entered = 0

    async def hold(_: float) -> None:
        nonlocal entered
        entered += 1
        if entered == 2:
            both_in.set()
        await release.wait()

    qbo.sleep = hold
    company.faults.latency_seconds = 1.0
    company.limits.concurrent = 2
    first = [asyncio.create_task(api.get(f"companyinfo/{company.realm_id}")) for _ in range(2)]
    await both_in.wait()
    third = await api.get(f"companyinfo/{company.realm_id}")
    _throttle_code(third)
    release.set()
    assert [r.status_code for r in await asyncio.gather(*first)] == [200, 200]
    assert company.limits.in_flight == 0


async def test_injected_faults_and_call_counts(
    qbo: QuickBooksSandbox, api: Api, company: Company
) -> None:
    company.faults.fail_next(1, status=429, retry_after=2)
    company.faults.fail_next(1, status=503, route="/v3/company/{realmId}/query")
    throttled = await api.get(f"companyinfo/{company.realm_id}")
    assert _throttle_code(throttled) == "3001"
    assert throttled.headers["retry-after"] == "2"
    assert (await api.get(f"companyinfo/{company.realm_id}")).status_code == 200
    unavailable = await api.query("select * from Item")
    assert unavailable.status_code == 503
    assert unavailable.json()["Fault"]["type"] == "SystemFault"
    assert (await api.query("select * from Item")).status_code == 200

    assert qbo.calls.count("GET", "/v3/company/{realmId}/query") == 2
    assert qbo.calls.count(realm_id=company.realm_id) == 4
    assert qbo.calls.without_minorversion() == []
    await api.http.get(
        api.url("query"), params={"query": "select * from Item"}, headers=api._headers()
    )
    assert len(qbo.calls.without_minorversion()) == 1


async def test_held_calls_wait_unanswered_until_released(
    api: Api, company: Company, customer: dict[str, Any], item_id: str, http: httpx.AsyncClient
) -> None:
    """A hold on one method and route: those calls wait (as on a slow QuickBooks), others
    are answered; releasing answers the held ones as usual and holds nothing more."""
    realm = company.realm_id
    held = await http.post(
        f"/_sandbox/companies/{realm}/holds",
        json={"method": "post", "route": "/v3/company/{realmId}/invoice"},
    )
    assert held.json() == {"holds": 1, "waiting": 0}
    create = asyncio.create_task(api.post("invoice", invoice_body(customer["Id"], item_id)))
    await asyncio.wait_for(company.faults.holds[0].arrived.wait(), timeout=5)
    assert not create.done()
    assert (await http.get(f"/_sandbox/companies/{realm}/holds")).json()["waiting"] == 1
    assert (await api.get(f"companyinfo/{realm}")).status_code == 200  # not held
    assert company.entities["Invoice"] == {}

    released = await http.delete(f"/_sandbox/companies/{realm}/holds")

    assert released.json() == {"released": 1}
    answer = await create
    assert answer.status_code == 200, answer.text
    assert list(company.entities["Invoice"]) == [answer.json()["Invoice"]["Id"]]
    again = await api.post("invoice", invoice_body(customer["Id"], item_id))
    assert again.status_code == 200  # no hold any more


INVOICE_ROUTE = "/v3/company/{realmId}/invoice"


async def test_an_answer_lost_after_the_create_leaves_the_invoice_made(
    api: Api, company: Company, customer: dict[str, Any], item_id: str, http: httpx.AsyncClient
) -> None:
    """`after`: QuickBooks creates the invoice, then the caller gets a 503; the same requestid
    replays the create's own answer, a new one makes a second invoice."""
    realm = company.realm_id
    injected = await http.post(
        f"/_sandbox/companies/{realm}/faults",
        json={"count": 1, "status": 503, "method": "POST", "route": INVOICE_ROUTE, "after": True},
    )
    assert injected.json() == {"pending": 1}
    body = invoice_body(customer["Id"], item_id)

    lost = await api.post("invoice", body, requestid="sync-1")

    assert lost.status_code == 503
    assert lost.json()["Fault"]["type"] == "SystemFault"
    (made,) = company.entities["Invoice"].values()
    replayed = await api.post("invoice", body, requestid="sync-1")
    assert replayed.status_code == 200
    assert replayed.json()["Invoice"]["Id"] == made["Id"]
    assert len(company.entities["Invoice"]) == 1
    assert (await api.post("invoice", body, requestid="sync-2")).status_code == 200
    assert len(company.entities["Invoice"]) == 2


async def test_a_held_answer_comes_after_the_write_is_done(
    api: Api, company: Company, customer: dict[str, Any], item_id: str, http: httpx.AsyncClient
) -> None:
    realm = company.realm_id
    await http.post(
        f"/_sandbox/companies/{realm}/holds",
        json={"method": "POST", "route": INVOICE_ROUTE, "count": 1, "after": True},
    )
    create = asyncio.create_task(
        api.post("invoice", invoice_body(customer["Id"], item_id), requestid="sync-1")
    )
    await asyncio.wait_for(company.faults.holds[0].arrived.wait(), timeout=5)

    # The caller is still waiting, and QuickBooks has the invoice already.
    assert not create.done()
    (made,) = company.entities["Invoice"].values()
    await http.delete(f"/_sandbox/companies/{realm}/holds")
    answer = await create
    assert answer.json()["Invoice"]["Id"] == made["Id"]


async def test_a_query_lagging_behind_misses_new_invoices_for_a_while(
    api: Api,
    company: Company,
    customer: dict[str, Any],
    item_id: str,
    http: httpx.AsyncClient,
    qbo_clock: SandboxClock,
) -> None:
    older = await api.post("invoice", invoice_body(customer["Id"], item_id, DocNumber="A-1"))
    qbo_clock.advance(60)
    lag = await http.put(f"/_sandbox/companies/{company.realm_id}/query-lag", json={"seconds": 30})
    assert lag.json() == {"seconds": 30}
    newer = await api.post("invoice", invoice_body(customer["Id"], item_id, DocNumber="A-2"))
    newer_id = newer.json()["Invoice"]["Id"]

    def found(response: httpx.Response) -> list[str]:
        return [i["DocNumber"] for i in response.json()["QueryResponse"].get("Invoice", [])]

    assert found(await api.query("select * from Invoice")) == ["A-1"]
    assert found(await api.query("select * from Invoice where DocNumber = 'A-2'")) == []
    changed = await api.post(
        "invoice",
        {"Id": newer_id, "SyncToken": "0", "sparse": True, "PrivateNote": "edited"},
    )
    assert changed.status_code == 200, changed.text
    assert found(await api.query("select * from Invoice")) == ["A-1"]  # still new to queries
    assert (await api.get(f"invoice/{newer_id}")).json()["Invoice"]["DocNumber"] == "A-2"
    qbo_clock.advance(30)
    assert found(await api.query("select * from Invoice")) == ["A-1", "A-2"]
    assert older.status_code == 200
