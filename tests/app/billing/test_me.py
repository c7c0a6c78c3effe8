"""`GET /api/me`: who is calling and whether the pages should offer editing controls."""

from __future__ import annotations

from tests.support.world import World

PERMISSIONS = "/rest/api/3/permissions/check"


async def test_a_jira_admin_may_edit_billing(world: World) -> None:
    response = await world.api("GET", "/api/me")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "account_id": "user-admin",
        "can_edit_billing": True,
        "can_manage_quickbooks": True,
        "can_see_money": True,
    }


async def test_a_plain_user_is_told_they_only_read_not_refused(world: World) -> None:
    response = await world.api("GET", "/api/me", account_id="user-1")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "account_id": "user-1",
        "can_edit_billing": False,
        "can_manage_quickbooks": False,
        "can_see_money": True,  # until the site hides money from readers
    }


async def test_a_member_of_the_billing_group_may_edit_billing(world: World) -> None:
    world.site.add_user("Finn Finance", account_id="user-finance", groups=["finance"])
    patched = await world.api("PATCH", "/api/settings", json={"billing_group": "finance"})
    assert patched.status_code == 200, patched.text

    member = await world.api("GET", "/api/me", account_id="user-finance")
    outsider = await world.api("GET", "/api/me", account_id="user-1")

    # Billing data yes, the QuickBooks connection no: that needs a Jira administrator.
    assert member.json() == {
        "account_id": "user-finance",
        "can_edit_billing": True,
        "can_manage_quickbooks": False,
        "can_see_money": True,
    }
    assert outsider.json()["can_edit_billing"] is False


async def test_the_answer_is_the_same_remembered_check_writes_use(world: World) -> None:
    world.site.calls.reset()
    for _ in range(3):
        assert (await world.api("GET", "/api/me")).json()["can_edit_billing"] is True
    assert (
        await world.api("POST", "/api/clients", json={"name": "A", "currency": "USD"})
    ).status_code == 201
    assert world.site.calls.count("POST", PERMISSIONS) == 1


async def test_a_token_without_a_user_cannot_edit(world: World) -> None:
    response = await world.api("GET", "/api/me", account_id=None)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "account_id": None,
        "can_edit_billing": False,
        "can_manage_quickbooks": False,
        "can_see_money": True,
    }


async def test_a_reader_is_told_money_is_hidden_when_the_site_hides_it(world: World) -> None:
    world.site.add_user("Finn Finance", account_id="user-finance", groups=["finance"])
    patched = await world.api(
        "PATCH", "/api/settings", json={"readers_see_money": False, "billing_group": "finance"}
    )
    assert patched.status_code == 200, patched.text

    seen = {
        who: (await world.api("GET", "/api/me", account_id=who)).json()["can_see_money"]
        for who in ("user-admin", "user-finance", "user-1", None)
    }

    assert seen == {"user-admin": True, "user-finance": True, "user-1": False, None: False}


async def test_me_needs_a_jira_token(world: World) -> None:
    response = await world.client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_token"
