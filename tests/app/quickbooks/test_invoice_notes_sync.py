"""An invoice's notes reach QuickBooks as its message to the customer (CustomerMemo); the
internal note never leaves Worklog360."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.quickbooks.invoice_sync import customer_message
from tests.app.quickbooks.invoicing import (
    draft_invoice,
    invoicing_world,
    linked_client,
    synced,
)
from tests.support.world import World

MESSAGE = "Thank you for your business — Grüße from the team.\nPayable by bank transfer."


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with invoicing_world(database_url, tmp_path) as world:
        yield world


async def in_quickbooks(world: World, qbo_invoice_id: str) -> dict[str, Any]:
    """The invoice as the QuickBooks company holds it, read back over HTTP."""
    response = await world.qbo_browser.get(
        f"http://quickbooks.test/_sandbox/companies/{world.realm_id}/invoices/{qbo_invoice_id}"
    )
    assert response.status_code == 200, response.text
    invoice: dict[str, Any] = response.json()["Invoice"]
    return invoice


async def finalized_with_notes(world: World, notes: str | None, internal: str | None) -> int:
    client_id, _ = await linked_client(world)
    draft = await draft_invoice(world, client_id)
    changed = await world.api(
        "PATCH", f"/api/invoices/{draft['id']}", json={"notes": notes, "internal_note": internal}
    )
    assert changed.status_code == 200, changed.text
    finalized = await world.api("POST", f"/api/invoices/{draft['id']}/finalize")
    assert finalized.status_code == 200, finalized.text
    return int(draft["id"])


async def test_the_notes_are_the_customer_message_and_the_internal_note_stays_home(
    world: World,
) -> None:
    invoice_id = await finalized_with_notes(world, MESSAGE, "Discount promised by Ada")

    block = await synced(world, invoice_id)

    created = await in_quickbooks(world, block["invoice_id"])
    assert created["CustomerMemo"] == {"value": MESSAGE}
    assert "Discount promised" not in str(created)
    assert created["PrivateNote"] == f"Worklog360 invoice {created['DocNumber']}"


async def test_an_invoice_without_notes_sends_no_customer_message(world: World) -> None:
    invoice_id = await finalized_with_notes(world, "   ", None)

    block = await synced(world, invoice_id)

    assert "CustomerMemo" not in await in_quickbooks(world, block["invoice_id"])


async def test_notes_of_1000_characters_arrive_whole(world: World) -> None:
    notes = "é" * 1000
    invoice_id = await finalized_with_notes(world, notes, None)

    block = await synced(world, invoice_id)

    assert (await in_quickbooks(world, block["invoice_id"]))["CustomerMemo"] == {"value": notes}


def test_notes_locked_before_the_limit_are_cut_at_a_word_and_marked() -> None:
    """Only an invoice finalized before notes had a limit can hold more than QuickBooks
    prints (the database keeps a finalized invoice as it is, so the API cannot make one
    here); it syncs with the first part of its notes, cut at a word, marked, not refused."""
    words = " ".join(f"word{n:03d}" for n in range(200))  # 1,599 characters
    memo = customer_message(words)
    assert memo is not None
    assert len(memo) <= 1000 and memo.endswith("…")
    assert words.startswith(memo[:-1]) and memo[-2].isdigit()
    assert customer_message("x" * 1500) == "x" * 999 + "…"  # no space to cut at
    assert customer_message("  kept as typed  ") == "kept as typed"
    assert customer_message("   ") is None and customer_message(None) is None
