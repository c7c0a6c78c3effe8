"""`GET /api/me`: who is calling and whether the pages should offer editing controls."""

from __future__ import annotations

from tests.support.world import World

PERMISSIONS = "/rest/api/3/permissions/check"


async def test_a_jira_admin_may_edit_billing(world: World) -> None:
    response = await world.api("GET", "/api/me")
    assert response.status_code == 200, response.text
    assert response.json() == {"account_id": "user-admin", "can_edit_billing": True}


async def test_a_plain_user_is_told_they_only_read_not_refused(world: World) -> None:
    response = await world.api("GET", "/api/me", account_id="user-1")
    assert response.status_code == 200, response.text
    assert response.json() == {"account_id": "user-1", "can_edit_billing": False}


async def test_a_member_of_the_billing_group_may_edit_billing(world: World) -> None:
    world.site.add_user("Finn Finance", account_id="user-finance", groups=["finance"])
    patched = await world.api("PATCH", "/api/settings", json={"billing_group": "finance"})
    assert patched.status_code == 200, patched.text

    member = await world.api("GET", "/api/me", account_id="user-finance")
    outsider = await world.api("GET", "/api/me", account_id="user-1")

    assert member.json() == {"account_id": "user-finance", "can_edit_billing": True}
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
    assert response.json() == {"account_id": None, "can_edit_billing": False}


async def test_me_needs_a_jira_token(world: World) -> None:
    response = await world.client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_token"
