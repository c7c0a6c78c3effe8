"""The Invoices list over the API: filters (ours, QuickBooks' and overdue), search by
number, server-side sorts whose cursors walk every page in order, and totals of the whole
filter per currency.

The ledger (numbers start at INV-9 so that INV-9 sorts before INV-10; each invoice is one
month of 2.25 h at its own rate; "past" due 2025-01-31, "future" due in 60 days):

    month  client      currency  rate    total   state
    1      Acme        USD       100    225.00   synced, $50.00 paid, past due → overdue
    2      Acme        USD       120    270.00   synced, paid in full → paid
    3      beta works  EUR       110    247.50   synced, sent → sent
    4      beta works  EUR        90    202.50   finalized, not synced, past due
    5      Cobalt      USD       130    292.50   draft
    6      Acme        USD       140    315.00   synced, $100.00 paid → partially paid
    7      Acme        USD       150    337.50   synced, voided in QuickBooks
    8      Acme        USD       160    360.00   synced, deleted in QuickBooks
    9      Acme        USD       170    382.50   synced, not sent → QuickBooks draft
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.app.quickbooks.invoicing import (
    draft_invoice,
    finalized_invoice,
    invoicing_world,
    linked_client,
    refresh,
    synced,
    unlinked_client,
)
from tests.support.world import World

PAST = ("2025-01-01", "2025-01-31")


def today() -> date:
    return datetime.now(UTC).date()


def future() -> tuple[str, str]:
    return today().isoformat(), (today() + timedelta(days=60)).isoformat()


@pytest.fixture
async def ledger(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[World, dict[int, Any]]]:
    """The world and the ledger's invoices by month (as the API last answered them)."""
    async with invoicing_world(database_url, tmp_path) as world:
        settings = await world.api("PATCH", "/api/settings", json={"next_invoice_number": 9})
        assert settings.status_code == 200, settings.text
        world.quickbooks.company(world.realm_id).preferences.multicurrency = True
        acme, _ = await linked_client(world, "Acme")
        beta, _ = await linked_client(world, "beta works", currency="EUR", customer_currency="EUR")
        cobalt = await unlinked_client(world, "Cobalt")
        qbo, realm = world.quickbooks, world.realm_id
        months: dict[int, Any] = {}

        async def finalized(month: int, client: int, rate: str, dates: tuple[str, str]) -> str:
            invoice = await finalized_invoice(world, client, month=month, rate=rate, dates=dates)
            months[month] = invoice
            return str(invoice["id"])

        await finalized(1, acme, "100.00", PAST)
        qbo.pay_invoice(realm, (await synced(world, months[1]["id"]))["invoice_id"], "50.00")
        await finalized(2, acme, "120.00", future())
        qbo.pay_invoice(realm, (await synced(world, months[2]["id"]))["invoice_id"])
        await finalized(3, beta, "110.00", future())
        qbo.send_invoice(realm, (await synced(world, months[3]["id"]))["invoice_id"])
        await finalized(4, beta, "90.00", PAST)
        months[5] = await draft_invoice(world, cobalt, month=5, rate="130.00")
        await finalized(6, acme, "140.00", future())
        qbo.pay_invoice(realm, (await synced(world, months[6]["id"]))["invoice_id"], "100.00")
        await finalized(7, acme, "150.00", future())
        qbo.void_invoice(realm, (await synced(world, months[7]["id"]))["invoice_id"])
        await finalized(8, acme, "160.00", future())
        qbo.delete_invoice(realm, (await synced(world, months[8]["id"]))["invoice_id"])
        await finalized(9, acme, "170.00", future())
        await synced(world, months[9]["id"])
        for month in (1, 2, 3, 6, 7, 8):
            await refresh(world, months[month]["id"])
        for month, invoice in months.items():
            read = await world.api("GET", f"/api/invoices/{invoice['id']}", account_id="user-1")
            months[month] = read.json()
        yield world, months


async def listed(world: World, **params: Any) -> dict[str, Any]:
    response = await world.api("GET", "/api/invoices", account_id="user-1", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(page: dict[str, Any]) -> list[int]:
    return [item["id"] for item in page["items"]]


def months_of(months: dict[int, Any], *which: int) -> list[int]:
    return [months[m]["id"] for m in which]


async def test_each_row_says_what_is_paid_owed_and_how_late(
    ledger: tuple[World, dict[int, Any]],
) -> None:
    world, months = ledger
    page = await listed(world, limit=500)
    by_id = {item["id"]: item for item in page["items"]}
    row = {month: by_id[invoice["id"]] for month, invoice in months.items()}
    late = (today() - date(2025, 1, 31)).days

    assert {m: (r["paid"], r["balance"], r["days_overdue"]) for m, r in row.items()} == {
        1: ("50.00", "175.00", late),
        2: ("270.00", "0.00", None),
        3: ("0.00", "247.50", None),
        4: ("0.00", "202.50", late),  # not in QuickBooks: the whole total is owed
        5: (None, None, None),  # a draft owes nothing yet
        6: ("100.00", "215.00", None),
        7: ("0.00", "0.00", None),  # voided
        8: ("0.00", "0.00", None),  # deleted in QuickBooks: nothing is owed there
        9: ("0.00", "382.50", None),
    }
    assert [row[m]["number"] for m in (1, 2, 3, 4, 6, 7, 8, 9)] == [
        f"INV-{n}" for n in range(9, 17)
    ]
    assert row[1]["quickbooks"]["status"] == "overdue"


async def test_totals_cover_the_whole_filter_per_currency(
    ledger: tuple[World, dict[int, Any]],
) -> None:
    world, months = ledger

    page = await listed(world, limit=2)

    assert len(page["items"]) == 2
    assert page["totals"] == [
        {
            "currency": "EUR",
            "count": 2,
            "total": "450.00",
            "paid": "0.00",
            "balance": "450.00",
            "overdue": "202.50",
        },
        {
            "currency": "USD",
            "count": 7,
            "total": "2182.50",
            "paid": "420.00",
            "balance": "772.50",
            "overdue": "175.00",
        },
    ]
    # The same figures summed here from each invoice as its own page shows it (the
    # QuickBooks block when synced, else the whole total owed).
    expected: dict[str, list[Decimal]] = {}
    for invoice in months.values():
        sums = expected.setdefault(invoice["currency"], [Decimal(0)] * 4)
        q = invoice["quickbooks"]
        sums[0] += 1
        sums[1] += Decimal(invoice["total"])
        if invoice["status"] != "finalized":
            continue
        if q["status"] == "not_synced":
            sums[3] += Decimal(invoice["total"])
            continue
        sums[2] += Decimal(q["paid"])
        sums[3] += Decimal(0) if q["status"] == "deleted" else Decimal(q["balance"])
    assert {
        t["currency"]: [
            Decimal(t["count"]),
            Decimal(t["total"]),
            Decimal(t["paid"]),
            Decimal(t["balance"]),
        ]
        for t in page["totals"]
    } == expected

    acme_only = await listed(world, client_id=months[1]["client"]["id"], limit=1)
    assert [(t["currency"], t["count"], t["total"]) for t in acme_only["totals"]] == [
        ("USD", 6, "1890.00")
    ]
    nothing = await listed(world, q="no such number")
    assert (nothing["items"], nothing["totals"]) == ([], [])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "draft"}, (5,)),
        ({"status": "finalized"}, (9, 8, 7, 6, 4, 3, 2, 1)),
        ({"quickbooks_status": "not_synced"}, (4,)),
        ({"quickbooks_status": "draft"}, (9,)),
        ({"quickbooks_status": "sent"}, (3,)),
        ({"quickbooks_status": "partially_paid"}, (6,)),
        ({"quickbooks_status": "paid"}, (2,)),
        ({"quickbooks_status": "overdue"}, (1,)),
        ({"quickbooks_status": "voided"}, (7,)),
        ({"quickbooks_status": "deleted"}, (8,)),
        ({"overdue": "true"}, (4, 1)),
        ({"overdue": "false"}, (9, 8, 7, 6, 5, 3, 2)),
        ({"q": "INV-1"}, (9, 8, 7, 6, 4, 3, 2)),  # INV-10 … INV-16
        ({"q": "inv-1"}, (9, 8, 7, 6, 4, 3, 2)),
        ({"q": "v-9"}, (1,)),
        ({"q": " 12 "}, (4,)),
        ({"q": "%"}, ()),
        ({"q": "_"}, ()),
        ({"status": "finalized", "quickbooks_status": "not_synced", "overdue": "true"}, (4,)),
    ],
)
async def test_filters_and_search(
    ledger: tuple[World, dict[int, Any]], params: dict[str, str], expected: tuple[int, ...]
) -> None:
    world, months = ledger

    page = await listed(world, **params)

    assert ids(page) == months_of(months, *expected)
    assert sum(t["count"] for t in page["totals"]) == len(expected)


async def test_the_quickbooks_filter_agrees_with_each_invoices_status(
    ledger: tuple[World, dict[int, Any]],
) -> None:
    world, months = ledger
    for invoice in months.values():
        if invoice["status"] != "finalized":
            continue
        status = invoice["quickbooks"]["status"]
        assert invoice["id"] in ids(await listed(world, quickbooks_status=status)), status


def _number_key(item: dict[str, Any]) -> tuple[str, int] | None:
    if item["number"] is None:
        return None
    match = re.fullmatch(r"(.*?)(\d+)", item["number"])
    assert match is not None
    return match.group(1), int(match.group(2))


SORT_VALUES: dict[str, Any] = {
    "number": _number_key,
    "client": lambda i: i["client"]["name"].lower(),
    "issue_date": lambda i: i["issue_date"],
    "due_date": lambda i: (i["quickbooks"] or {}).get("due_date") or i["due_date"],
    "total": lambda i: Decimal(i["total"]),
    "balance": lambda i: None if i["balance"] is None else Decimal(i["balance"]),
}


def expected_order(items: list[dict[str, Any]], sort: str, descending: bool) -> list[int]:
    """Values in order, ties by id the same way, missing values last either way."""
    value = SORT_VALUES[sort]
    present = [i for i in items if value(i) is not None]
    missing = [i for i in items if value(i) is None]
    present.sort(key=lambda i: (value(i), i["id"]), reverse=descending)
    missing.sort(key=lambda i: i["id"], reverse=descending)
    return [i["id"] for i in present + missing]


async def walk(world: World, **params: Any) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        page = await listed(world, limit=2, **params, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 2
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("sort", list(SORT_VALUES))
async def test_every_sort_walks_all_pages_in_order_both_ways(
    ledger: tuple[World, dict[int, Any]], sort: str
) -> None:
    world, _ = ledger
    items = (await listed(world, limit=500))["items"]
    assert len(items) == 9

    ascending = await walk(world, sort=sort)
    descending = await walk(world, sort=sort, order="desc")

    assert ascending == expected_order(items, sort, descending=False)
    assert descending == expected_order(items, sort, descending=True)
    assert await walk(world, sort=f"-{sort}") == descending
    assert await walk(world, sort=sort, order="asc") == ascending
    # A filter keeps the sort across its pages too.
    acme = next(i["client"]["id"] for i in items if i["client"]["name"] == "Acme")
    mine = [i for i in items if i["client"]["id"] == acme]
    assert await walk(world, sort=sort, client_id=acme) == expected_order(mine, sort, False)


async def test_number_order_is_natural_and_newest_first_is_the_default(
    ledger: tuple[World, dict[int, Any]],
) -> None:
    world, months = ledger

    numbers = [i["number"] for i in (await listed(world, sort="number"))["items"]]
    newest = await walk(world)

    assert numbers == [f"INV-{n}" for n in range(9, 17)] + [None]
    assert newest == sorted((i["id"] for i in months.values()), reverse=True)


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"sort": "amount"}, "invalid_sort", "cannot be sorted by 'amount': sort by number"),
        ({"sort": "total", "order": "up"}, "invalid_sort", "use order=asc or order=desc"),
        ({"sort": "-total", "order": "asc"}, "invalid_sort", "already sorts descending"),
        ({"status": "paid"}, "invalid_filter", "quickbooks_status"),
        ({"quickbooks_status": "late"}, "invalid_filter", "not_synced, draft, sent"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor", "first page"),
        ({"overdue": "maybe"}, "invalid_request", "overdue"),
        ({"limit": "501"}, "invalid_request", "limit"),
    ],
)
async def test_bad_list_requests_say_what_to_use(
    ledger: tuple[World, dict[int, Any]], params: dict[str, str], code: str, words: str
) -> None:
    world, _ = ledger

    response = await world.api("GET", "/api/invoices", params=params)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert words.lower() in error["message"].lower()


async def test_a_cursor_belongs_to_its_sort(ledger: tuple[World, dict[int, Any]]) -> None:
    world, _ = ledger
    cursor = (await listed(world, sort="total", limit=2))["next_cursor"]
    assert cursor

    other = await world.api("GET", "/api/invoices", params={"sort": "balance", "cursor": cursor})
    reversed_ = await world.api("GET", "/api/invoices", params={"sort": "-total", "cursor": cursor})

    for response in (other, reversed_):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_cursor"
        assert "another sort order" in response.json()["error"]["message"]


async def test_another_site_sees_none_of_it(ledger: tuple[World, dict[int, Any]]) -> None:
    world, _ = ledger
    other = world.jira.add_site("https://other.atlassian.net")
    other.add_user("Olga Other", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install(other)

    page = (await world.api("GET", "/api/invoices", site=other)).json()

    assert (page["items"], page["totals"], page["next_cursor"]) == ([], [], None)
