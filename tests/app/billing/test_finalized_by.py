"""Who generated and who finalized an invoice, by name: the app holds only their Atlassian
account ids (from the Connect JWT) and asks Jira for the names, as the app, once per person
per process; when Jira cannot say, the person is their account id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.billing.test_budgets import create_budget
from tests.app.billing.test_invoices import generate, invoice_of
from tests.support.world import World

USER_ROUTE = "/rest/api/3/user"


@pytest.fixture
def finance(world: World) -> str:
    """A second billing editor, so that who generated and who finalized differ."""
    world.site.add_user("Grace Okafor", account_id="user-grace", global_permissions=["ADMINISTER"])
    return "user-grace"


async def finalize_as(world: World, invoice_id: int, account_id: str) -> dict[str, Any]:
    response = await world.api(
        "POST", f"/api/invoices/{invoice_id}/finalize", account_id=account_id
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def forget_names(world: World) -> None:
    """As another web process would be: it never asked Jira about anyone."""
    world.runtime.display_names.clear()
    world.runtime.unnamed.clear()


async def test_an_invoice_names_who_generated_and_who_finalized_it(
    world: World, finance: str
) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    assert draft["created_by"] == {"account_id": "user-admin", "display_name": "Ada Admin"}
    assert draft["finalized_by"] is None

    finalized = await finalize_as(world, draft["id"], finance)
    assert finalized["finalized_by"] == {"account_id": finance, "display_name": "Grace Okafor"}

    # Anyone reading it sees the same names, in the invoice and in the list.
    read = await invoice_of(world, draft["id"])
    assert read["created_by"] == {"account_id": "user-admin", "display_name": "Ada Admin"}
    assert read["finalized_by"] == {"account_id": finance, "display_name": "Grace Okafor"}
    listed = await world.api("GET", "/api/invoices", account_id="user-1")
    [item] = listed.json()["items"]
    assert item["finalized_by"] == {"account_id": finance, "display_name": "Grace Okafor"}


async def test_a_process_asks_jira_once_per_person(world: World, finance: str) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    await finalize_as(world, draft["id"], finance)
    forget_names(world)
    before = world.site.calls.count("GET", USER_ROUTE)

    first = await invoice_of(world, draft["id"])
    assert first["finalized_by"]["display_name"] == "Grace Okafor"
    asked = world.site.calls.count("GET", USER_ROUTE) - before
    assert asked == 3  # the reader, who generated it, who finalized it

    for _ in range(3):
        again = await invoice_of(world, draft["id"])
        assert again["created_by"]["display_name"] == "Ada Admin"
    await world.api("GET", "/api/invoices", account_id="user-1")
    assert world.site.calls.count("GET", USER_ROUTE) - before == asked


async def test_when_jira_cannot_name_someone_the_invoice_shows_their_account_id(
    world: World, finance: str
) -> None:
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])

    # Jira fails every lookup: finalizing still works, and names the account.
    world.site.faults.fail_next(100, status=503, route=USER_ROUTE)
    finalized = await finalize_as(world, draft["id"], finance)
    assert finalized["status"] == "finalized"
    assert finalized["finalized_by"] == {"account_id": finance, "display_name": None}
    read = await invoice_of(world, draft["id"])
    assert read["finalized_by"] == {"account_id": finance, "display_name": None}

    # The person has left: Jira no longer knows the account (404).
    forget_names(world)
    world.site.faults.clear()
    del world.site.users[finance]
    read = await invoice_of(world, draft["id"])
    assert read["finalized_by"] == {"account_id": finance, "display_name": None}
    assert read["created_by"] == {"account_id": "user-admin", "display_name": "Ada Admin"}


async def test_a_change_by_someone_else_names_who_made_the_invoice(
    world: World, finance: str
) -> None:
    """Names are asked for before a write's transaction opens, the invoice's people too."""
    budget = await create_budget(world, hourly_rate="100.00")
    draft = await generate(world, budget["id"])
    forget_names(world)  # as in another web process

    changed = await world.api(
        "PATCH", f"/api/invoices/{draft['id']}", json={"notes": "Thanks!"}, account_id=finance
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["created_by"] == {"account_id": "user-admin", "display_name": "Ada Admin"}
    finalized = await finalize_as(world, draft["id"], finance)
    assert finalized["created_by"]["display_name"] == "Ada Admin"
    assert finalized["finalized_by"]["display_name"] == "Grace Okafor"
