"""A budget's Jira projects are the site's own: checked against Jira (as the app) when a
budget is made or its projects change, refused by name when Jira has no such project, and
never saved unchecked when Jira cannot be asked. The site's projects are offered to pick
from (`GET /api/jira/projects`), a minute old at most.

The shared site (see conftest) has the projects ALPHA and BETA."""

from __future__ import annotations

from typing import Any

from tests.app.billing.test_budgets import client_id, create_budget
from tests.support.world import World

SEARCH = "/rest/api/3/project/search"


async def new_budget(world: World, **fields: Any) -> Any:
    clients = (await world.api("GET", "/api/clients")).json()["items"]
    body = {
        "client_id": clients[0]["id"] if clients else await client_id(world, "Acme"),
        "name": "Checked",
        "project_keys": ["ALPHA"],
        "starts_on": "2026-11-01",
        **fields,
    }
    return await world.api("POST", "/api/budgets", json=body)


async def budget_names(world: World) -> list[str]:
    return [b["name"] for b in (await world.api("GET", "/api/budgets")).json()["items"]]


def error(response: Any) -> dict[str, str]:
    body: dict[str, str] = response.json()["error"]
    return body


async def test_a_budget_over_a_project_jira_does_not_have_is_refused_by_name(
    world: World,
) -> None:
    response = await new_budget(world, project_keys=["NOPE"])
    assert response.status_code == 422
    assert error(response)["code"] == "unknown_project"
    assert error(response)["message"].startswith("Jira has no project NOPE that Worklog360")
    assert await budget_names(world) == []

    response = await new_budget(world, project_keys=["ALPHA", "ZED", "NOPE"])
    assert response.status_code == 422
    assert "Jira has no projects NOPE and ZED " in error(response)["message"]
    assert "ALPHA" not in error(response)["message"]
    assert await budget_names(world) == []

    made = await new_budget(world, project_keys=["BETA", "ALPHA"])
    assert made.status_code == 201, made.text
    assert made.json()["project_keys"] == ["ALPHA", "BETA"]
    # One question to Jira for all of a budget's keys.
    assert world.site.calls.count("GET", SEARCH) == 3


async def test_changing_projects_checks_only_the_ones_added(world: World) -> None:
    budget = await create_budget(world)  # over ALPHA
    path = f"/api/budgets/{budget['id']}"
    asked = world.site.calls.count("GET", SEARCH)

    renamed = await world.api("PATCH", path, json={"name": "Renamed"})
    same = await world.api("PATCH", path, json={"project_keys": ["ALPHA"]})
    assert (renamed.status_code, same.status_code) == (200, 200)
    assert world.site.calls.count("GET", SEARCH) == asked  # nothing new: Jira not asked

    refused = await world.api("PATCH", path, json={"project_keys": ["ALPHA", "NOPE"]})
    assert refused.status_code == 422
    assert error(refused)["code"] == "unknown_project"
    assert "NOPE" in error(refused)["message"] and "ALPHA" not in error(refused)["message"]
    assert (await world.api("GET", path)).json()["project_keys"] == ["ALPHA"]

    world.site.add_project("GAMMA", "Gamma")
    added = await world.api("PATCH", path, json={"project_keys": ["ALPHA", "GAMMA"]})
    assert added.status_code == 200, added.text
    assert added.json()["project_keys"] == ["ALPHA", "GAMMA"]

    # Another site's budget: 404, whatever its keys.
    other = world.jira.add_site("https://globex.atlassian.net")
    other.add_user("Globex Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    await world.install(other)
    foreign = await world.api("PATCH", path, json={"project_keys": ["NOPE"]}, site=other)
    assert foreign.status_code == 404


async def test_when_jira_cannot_be_asked_nothing_is_saved_and_saving_again_works(
    world: World,
) -> None:
    world.site.faults.fail_next(10, status=503, route=SEARCH)
    response = await new_budget(world, project_keys=["ALPHA"])
    assert response.status_code == 503
    assert error(response)["code"] == "jira_unavailable"
    assert "Jira did not answer" in error(response)["message"]
    assert "ALPHA" in error(response)["message"]
    assert await budget_names(world) == []
    world.site.faults.clear()

    again = await new_budget(world, project_keys=["ALPHA"])
    assert again.status_code == 201, again.text
    assert await budget_names(world) == ["Checked"]


async def test_the_sites_projects_are_offered_and_kept_a_minute(world: World) -> None:
    listed = await world.api("GET", "/api/jira/projects", account_id="user-1")
    assert listed.status_code == 200
    assert listed.json() == {
        "items": [{"key": "ALPHA", "name": "Alpha"}, {"key": "BETA", "name": "Beta"}]
    }
    asked = world.site.calls.count("GET", SEARCH)
    world.site.add_project("DELTA", "Delta")
    cached = await world.api("GET", "/api/jira/projects")
    assert [p["key"] for p in cached.json()["items"]] == ["ALPHA", "BETA"]
    assert world.site.calls.count("GET", SEARCH) == asked

    # A budget over a project the list lacks: found in Jira, and the list is read again.
    assert (await new_budget(world, project_keys=["DELTA"])).status_code == 201
    fresh = await world.api("GET", "/api/jira/projects")
    assert [p["key"] for p in fresh.json()["items"]] == ["ALPHA", "BETA", "DELTA"]

    world.site.add_project("EPSILON", "Epsilon")
    refreshed = await world.api("GET", "/api/jira/projects", params={"refresh": "true"})
    assert [p["key"] for p in refreshed.json()["items"]][-1] == "EPSILON"

    world.site.faults.fail_next(10, status=503, route=SEARCH)
    down = await world.api("GET", "/api/jira/projects", params={"refresh": "true"})
    assert down.status_code == 503
    assert error(down)["code"] == "jira_unavailable"
    assert "Type the project keys" in error(down)["message"]


async def test_someone_who_may_not_change_budgets_is_refused_before_jira_is_asked(
    world: World,
) -> None:
    asked = world.site.calls.count("GET", SEARCH)
    body = {"client_id": 1, "name": "Reader's", "project_keys": ["NOPE"], "starts_on": "2026-11-01"}
    response = await world.api("POST", "/api/budgets", json=body, account_id="user-1")
    assert response.status_code == 403
    assert world.site.calls.count("GET", SEARCH) == asked
