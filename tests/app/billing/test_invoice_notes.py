"""An invoice's two notes: `notes`, printed on the invoice (QuickBooks' message to the
customer, which holds 1,000 characters), and `internal_note`, for the team only. Both are
edited on drafts and locked by finalizing.

The seeded site (see conftest) has a November budget's worth of ALPHA worklogs."""

from __future__ import annotations

from sqlalchemy import update

from app.billing.models import Invoice
from app.db import transaction
from tests.app.billing.test_budgets import create_budget
from tests.app.billing.test_invoices import error_code, finalize, generate, invoice_of
from tests.support.world import World


async def test_a_draft_keeps_its_notes_and_its_internal_note_apart(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    assert (draft["notes"], draft["internal_note"]) == (None, None)

    response = await world.api(
        "PATCH",
        f"/api/invoices/{draft['id']}",
        json={"notes": "Thank you!", "internal_note": "Client asked for a 5% discount next time."},
    )

    assert response.status_code == 200, response.text
    saved = await invoice_of(world, draft["id"])
    assert saved["notes"] == "Thank you!"
    assert saved["internal_note"] == "Client asked for a 5% discount next time."
    # Each one changes on its own.
    response = await world.api(
        "PATCH", f"/api/invoices/{draft['id']}", json={"internal_note": None}
    )
    assert response.status_code == 200, response.text
    saved = await invoice_of(world, draft["id"])
    assert (saved["notes"], saved["internal_note"]) == ("Thank you!", None)


async def test_notes_longer_than_quickbooks_prints_are_refused_and_change_nothing(
    world: World,
) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    url = f"/api/invoices/{draft['id']}"
    assert (await world.api("PATCH", url, json={"notes": "Kept."})).status_code == 200

    response = await world.api("PATCH", url, json={"notes": "ü" * 1001, "due_date": "2027-01-31"})

    assert response.status_code == 422
    assert error_code(response) == "notes_too_long"
    message = response.json()["error"]["message"]
    assert "1,001 characters" in message and "at most 1,000" in message
    assert "Shorten them by 1" in message and "internal note" in message
    after = await invoice_of(world, draft["id"])
    assert (after["notes"], after["due_date"]) == ("Kept.", draft["due_date"])
    # Exactly 1,000 fit; a long internal note is fine, it goes nowhere.
    assert (await world.api("PATCH", url, json={"notes": "ü" * 1000})).status_code == 200
    long_note = await world.api("PATCH", url, json={"internal_note": "x" * 4000})
    assert long_note.status_code == 200, long_note.text


async def test_finalizing_refuses_a_draft_whose_notes_predate_the_limit(world: World) -> None:
    """A draft saved before notes had a limit: once locked, its notes could never be
    shortened, so finalizing asks for it first."""
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    async with transaction(world.runtime.sessions) as session:
        await session.execute(
            update(Invoice).where(Invoice.id == draft["id"]).values(notes="n" * 1200)
        )

    response = await world.api("POST", f"/api/invoices/{draft['id']}/finalize")

    assert response.status_code == 422
    assert error_code(response) == "notes_too_long"
    assert (await invoice_of(world, draft["id"]))["status"] == "draft"
    shortened = await world.api("PATCH", f"/api/invoices/{draft['id']}", json={"notes": "Short"})
    assert shortened.status_code == 200
    assert (await finalize(world, draft["id"]))["status"] == "finalized"


async def test_a_finalized_invoice_keeps_both_notes_locked(world: World) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    await world.api(
        "PATCH", f"/api/invoices/{draft['id']}", json={"notes": "Hi", "internal_note": "Ours"}
    )
    invoice = await finalize(world, draft["id"])
    assert (invoice["notes"], invoice["internal_note"]) == ("Hi", "Ours")

    for change in ({"notes": "Changed"}, {"internal_note": "Changed"}):
        response = await world.api("PATCH", f"/api/invoices/{draft['id']}", json=change)
        assert response.status_code == 409
        assert error_code(response) == "invoice_locked"
    after = await invoice_of(world, draft["id"])
    assert (after["notes"], after["internal_note"]) == ("Hi", "Ours")
