"""The mirror of a site on the Forge door equals Jira: the backfill through api.atlassian.com
with the app system token, Forge's worklog events (duplicated, reordered, late, retried),
issue deletions, the hourly trigger, and a token that lapses.

Jira and Forge are the emulator in `sandbox/jira`; what the app holds is read back through
its own API as the Forge pages read it (`invokeRemote`).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.tenants.models import ForgeInstallation
from app.worklogs.jobs import reconcile_all
from app.worklogs.models import Worklog, WorklogRefresh
from sandbox.jira.seeding import seed_site
from tests.app.worklogs.test_mirror import jira_truth
from tests.support.world import World, jira_world

UPDATED = "/rest/api/3/worklog/updated"
LIST = "/rest/api/3/worklog/list"
SEARCH = "/rest/api/3/search/jql"
FOUR_HOURS = 4 * 3600


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path, forge=True) as world:
        yield world


async def mirrored(world: World) -> dict[str, dict[str, Any]]:
    """Every worklog the app shows through the Forge door, page after page."""
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        response = await world.forge_api("GET", "/api/worklogs", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        for item in body["items"]:
            assert item["id"] not in found, "a worklog was listed twice"
            found[item["id"]] = {
                "issue_id": item["issue_id"],
                "issue_key": item["issue_key"],
                "issue_summary": item["issue_summary"],
                "author": item["author"]["account_id"],
                "started": datetime.fromisoformat(item["started"]),
                "time_spent_seconds": item["time_spent_seconds"],
                "comment": item["comment"],
            }
        cursor = body["next_cursor"]
        if cursor is None:
            return found


async def sync_state(world: World) -> dict[str, Any]:
    response = await world.forge_api("GET", "/api/sync/worklogs")
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


async def table_count(world: World, model: Any) -> int:
    async with world.runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def stored_token_expiry(world: World) -> datetime | None:
    async with world.runtime.sessions() as session:
        row = (await session.execute(select(ForgeInstallation))).scalar_one()
    return row.system_token_expires_at


async def installed_and_backfilled(world: World) -> None:
    await world.install_forge()
    await world.settle()


# --- the backfill ------------------------------------------------------------------------------


async def test_a_forge_only_site_backfills_through_the_gateway_with_the_system_token(
    world: World,
) -> None:
    seed_site(world.site, project_keys=("ALPHA", "BETA"), issues=120, worklogs=2300)

    await world.install_forge()
    await world.settle()

    assert await mirrored(world) == jira_truth(world.site)
    state = await sync_state(world)
    assert state["state"] == "succeeded" and state["error"] is None and state["message"] is None
    assert state["processed"] == state["total"] == 2300
    site = world.site
    assert site.installations == {}  # no Connect app on this site at all
    # Every call went through api.atlassian.com/ex/jira/{cloudId}, as the bot user.
    assert site.gateway_calls.count("GET", UPDATED) == site.calls.count("GET", UPDATED) == 3
    assert site.gateway_calls.count("POST", LIST) == site.calls.count("POST", LIST) == 3
    assert site.gateway_calls.count("POST", SEARCH) == site.calls.count("POST", SEARCH) >= 1
    assert site.gateway_calls.total() == site.calls.total()


async def test_a_site_with_both_doors_is_called_through_connect_until_its_connect_app_goes(
    world: World,
) -> None:
    """The shared secret never lapses and nothing changes for an existing site when its
    admins add the Forge app; without the Connect app, the Forge door takes over."""
    seed_site(world.site, issues=10, worklogs=40)
    await world.install()
    await world.install_forge()
    await world.settle()
    site = world.site
    assert await mirrored(world) == jira_truth(site)
    assert site.calls.count("GET", UPDATED) >= 1
    assert site.gateway_calls.count("GET", UPDATED) == 0

    await world.jira.uninstall_app(site, world.app_key)
    site.calls.reset()
    site.add_worklog(
        "DEMO-1",
        "user-1",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=600,
        notify=False,
    )
    world.jira.clock.advance(61)
    await reconcile_all(world.runtime)  # the Forge-only site is still one to reconcile
    await world.settle()

    assert await mirrored(world) == jira_truth(site)
    assert site.gateway_calls.count("GET", UPDATED) == site.calls.count("GET", UPDATED) >= 1


# --- worklog events ----------------------------------------------------------------------------


async def test_forge_worklog_events_duplicated_reordered_and_late_converge_to_jira(
    world: World,
) -> None:
    await installed_and_backfilled(world)
    site, clock, forge = world.site, world.jira.clock, world.jira.forge
    site.add_project("WEB", "Events")
    issues = [site.add_issue("WEB", f"Issue {n}").id for n in range(6)]
    rng = random.Random(14)
    created = []
    for n in range(30):
        clock.advance(ms=5)
        created.append(
            site.add_worklog(
                rng.choice(issues),
                "user-1",
                started=f"2026-11-{n % 20 + 1:02d}T08:00:00.000-0500",
                time_spent_seconds=900 * rng.randint(1, 12),
                comment=f"work {n}",
            ).id
        )
    for worklog_id in rng.sample(created, 12):
        clock.advance(ms=5)
        site.update_worklog(worklog_id, time_spent_seconds=600, comment="revised")
    for worklog_id in rng.sample(created, 6):
        clock.advance(ms=5)
        site.delete_worklog(worklog_id)
    for event in rng.sample(forge.pending_events(site), 15):
        forge.duplicate_event(event.id, at_end=True)
    order = [e.id for e in forge.pending_events(site)]
    rng.shuffle(order)
    forge.reorder_events(order)
    # These come minutes later, after the rest were mirrored: out of the outbox meanwhile.
    late = [forge.drop_event(event_id) for event_id in order[-10:]]
    site.calls.reset()

    deliveries = await forge.deliver_events(site)
    await world.settle()
    forge.events.extend(late)
    deliveries += await forge.deliver_events(site)
    await world.settle()

    assert len(deliveries) == 48 + 15
    assert all(d.delivered and len(d.attempts) == 1 for d in deliveries)
    assert await mirrored(world) == jira_truth(site)
    async with world.runtime.sessions() as session:
        live = set(
            (
                await session.execute(
                    select(Worklog.id).where(Worklog.deleted_in_jira_at.is_(None))
                )
            ).scalars()
        )
    # A worklog deleted before it was ever read is never stored; none comes back to life.
    assert {str(i) for i in live} == set(site.worklogs)
    assert await table_count(world, WorklogRefresh) == 0  # every requested read was done
    # The worklogs were read in bulk (a call per settle round), never walked as a feed, and
    # their 6 new issues looked up in one search.
    assert 1 <= site.gateway_calls.count("POST", LIST) <= 2
    assert site.calls.count("GET", UPDATED) == 0
    assert site.gateway_calls.count("POST", SEARCH) == 1


async def test_an_event_is_durable_before_its_2xx_and_retries_store_it_once(
    world: World,
) -> None:
    await installed_and_backfilled(world)
    site, forge = world.site, world.jira.forge
    site.add_project("ONE", "One")
    worklog = site.add_worklog(
        site.add_issue("ONE", "Only").id,
        "user-1",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=1200,
    )
    [event] = forge.pending_events(site)

    # Forge delivering it again and again: each a fresh FIT and retryContext.
    for attempt in range(5):
        retry = None if attempt == 0 else {"retryCount": attempt, "retryReason": "TIMEOUT_ERROR"}
        response = await forge.send(forge.event_request(event, retry))
        assert response.status_code == 204, response.text
        # Committed before the answer: the request to read it is in the database already.
        assert await table_count(world, WorklogRefresh) == 1
    forge.events.clear()

    await world.settle()
    mirror = await mirrored(world)
    assert mirror[worklog.id]["time_spent_seconds"] == 1200
    assert await table_count(world, Worklog) == len(site.worklogs)
    assert site.gateway_calls.count("POST", LIST) == 1  # five deliveries, one read


async def test_a_deleted_issue_leaves_the_mirror_but_its_invoiced_worklog_stays_as_drift(
    world: World,
) -> None:
    site = world.site
    site.add_project("ALPHA", "Alpha")
    doomed = site.add_issue("ALPHA", "Doomed").id
    kept_issue = site.add_issue("ALPHA", "Kept").id
    invoiced = site.add_worklog(
        doomed,
        "user-1",
        started="2026-11-05T09:00:00.000+0000",
        time_spent_seconds=3600,
        notify=False,
    )
    not_invoiced = site.add_worklog(
        doomed,
        "user-1",
        started="2026-12-05T09:00:00.000+0000",
        time_spent_seconds=1800,
        notify=False,
    )
    other = site.add_worklog(
        kept_issue,
        "user-1",
        started="2026-11-06T09:00:00.000+0000",
        time_spent_seconds=900,
        notify=False,
    )
    world.jira.clock.advance(61)
    await installed_and_backfilled(world)
    client = await world.forge_api("POST", "/api/clients", json={"name": "Acme", "currency": "USD"})
    budget = await world.forge_api(
        "POST",
        "/api/budgets",
        json={
            "client_id": client.json()["id"],
            "name": "Autumn",
            "project_keys": ["ALPHA"],
            "starts_on": "2026-11-01",
            "ends_on": "2026-12-31",
            "hourly_rate": "100.00",
        },
    )
    assert budget.status_code == 201, budget.text
    draft = await world.forge_api(
        "POST",
        f"/api/budgets/{budget.json()['id']}/invoices",
        json={"period_start": "2026-11-01", "period_end": "2026-11-30"},
    )
    assert draft.status_code == 201, draft.text
    invoice_id = draft.json()["id"]
    finalized = await world.forge_api("POST", f"/api/invoices/{invoice_id}/finalize")
    assert finalized.status_code == 200, finalized.text

    site.delete_issue(doomed, by="user-admin")
    [event] = world.jira.forge.pending_events(site)
    assert event.event == "avi:jira:deleted:issue"
    await world.settle()

    listed = (await world.forge_api("GET", "/api/worklogs")).json()["items"]
    by_id = {item["id"]: item for item in listed}
    assert not_invoiced.id not in by_id  # gone with its issue
    assert by_id[other.id]["deleted_in_jira"] is False
    assert by_id[invoiced.id]["deleted_in_jira"] is True  # still billed: drift
    assert by_id[invoiced.id]["invoice_id"] == invoice_id
    invoice = (await world.forge_api("GET", f"/api/invoices/{invoice_id}")).json()
    # People's names are Jira's, asked through the Forge door too.
    assert invoice["created_by"] == {"account_id": "user-admin", "display_name": "Ada Admin"}
    assert [(d["worklog_id"], d["change"]) for d in invoice["drift"]] == [(invoiced.id, "deleted")]
    assert invoice["total"] == finalized.json()["total"] == "125.00"  # 1.25 h, unmoved


async def test_an_event_before_the_site_is_known_is_taken_once_forge_delivers_it_again(
    world: World,
) -> None:
    """The event can beat the install event, or the site's placement: 503, then Forge's
    retry a minute later lands (the site is placed meanwhile)."""
    site, forge = world.site, world.jira.forge
    forge.new_installation(site, world.forge)  # installed, its event still on its way
    site.add_project("EARLY", "Early")
    worklog = site.add_worklog(
        site.add_issue("EARLY", "Soon").id,
        "user-1",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=2400,
    )

    [delivery] = await forge.deliver_events(site)
    await world.settle()

    assert [a.status_code for a in delivery.attempts] == [503, 204]
    assert world.sleeps.delays[-1] == 60.0
    assert (await mirrored(world))[worklog.id]["time_spent_seconds"] == 2400


async def test_only_forge_itself_may_post_events(world: World) -> None:
    installation = await world.install_forge()
    await world.settle()
    forge = world.jira.forge
    body = {
        "eventType": "avi:jira:created:worklog",
        "worklog": {"id": "424242", "issueId": "10001"},
        "timestamp": "1793696400000",
    }
    ui_fit = forge.ui_token(world.site, world.forge, "user-admin")
    refusals = {
        "no token": ({}, 401, "missing_token"),
        "a UI call's token": ({"Authorization": f"Bearer {ui_fit}"}, 401, "forge_not_a_trigger"),
        "not a FIT": ({"Authorization": "Bearer abc.def.ghi"}, 401, "malformed_token"),
    }
    for headers, status, code in refusals.values():
        response = await world.client.post("/forge/events", json=body, headers=headers)
        assert response.status_code == status
        assert response.json()["error"]["code"] == code
    assert await table_count(world, WorklogRefresh) == 0

    trigger = {"Authorization": f"Bearer {forge.trigger_token(installation)}"}
    ignored = await world.client.post(
        "/forge/events", json={"eventType": "avi:jira:created:issue"}, headers=trigger
    )
    assert ignored.status_code == 204  # acknowledged, so that Forge does not retry it
    bad = await world.client.post(
        "/forge/events",
        json={"eventType": "avi:jira:deleted:worklog", "worklog": {"id": "12x"}},
        headers={"Authorization": f"Bearer {forge.trigger_token(installation)}"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_worklog"
    accepted = await world.client.post(
        "/forge/events",
        json=body,
        headers={"Authorization": f"Bearer {forge.trigger_token(installation)}"},
    )
    assert accepted.status_code == 204
    assert await table_count(world, WorklogRefresh) == 1


async def test_events_up_to_minutes_late_or_lost_are_caught_by_reconciliation(
    world: World,
) -> None:
    await installed_and_backfilled(world)
    site, forge = world.site, world.jira.forge
    site.add_project("LOST", "Lost")
    issue = site.add_issue("LOST", "Nobody told us").id
    kept = site.add_worklog(
        issue, "user-1", started="2026-11-02T10:00:00.000+0000", time_spent_seconds=3600
    )
    gone = site.add_worklog(
        issue, "user-1", started="2026-11-02T11:00:00.000+0000", time_spent_seconds=1800
    )
    await world.settle()
    world.jira.clock.advance(ms=10)
    site.update_worklog(kept.id, time_spent_seconds=7200)
    site.delete_worklog(gone.id)
    late = [forge.drop_event(e.id) for e in forge.pending_events(site)]  # 3 minutes late

    world.jira.clock.advance(61)
    await reconcile_all(world.runtime)
    await world.runtime.jobs.drain()
    assert await mirrored(world) == jira_truth(site)

    world.jira.clock.advance(120)
    forge.events.extend(late)  # and then they do come: nothing changes
    await world.settle()
    assert await mirrored(world) == jira_truth(site)


# --- the hourly trigger and the token ----------------------------------------------------------


async def test_the_hourly_trigger_keeps_a_fresh_token_and_reconciles_twice_harmlessly(
    world: World,
) -> None:
    await installed_and_backfilled(world)
    site, forge = world.site, world.jira.forge
    first_expiry = await stored_token_expiry(world)
    site.add_project("QUIET", "Quiet")
    quiet = site.add_worklog(
        site.add_issue("QUIET", "No event").id,
        "user-1",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=900,
        notify=False,
    )
    world.jira.clock.advance(61)
    world.advance(2 * 3600 + 60)  # Forge rotates its cached token once under 2 hours are left

    first = await forge.run_scheduled(site, world.forge)
    second = await forge.run_scheduled(site, world.forge)  # Forge may run a schedule twice
    await world.settle()

    assert first.delivered and second.delivered
    assert await mirrored(world) == jira_truth(site)
    assert quiet.id in await mirrored(world)
    assert await table_count(world, Worklog) == len(site.worklogs)
    renewed = await stored_token_expiry(world)
    assert first_expiry is not None and renewed is not None and renewed > first_expiry
    [installation] = forge.installations.values()
    assert len(installation.system_tokens) == 2
    assert (await sync_state(world))["state"] == "succeeded"


async def test_a_lapsed_token_shows_waiting_for_jira_and_resumes_with_the_next_one(
    world: World,
) -> None:
    await installed_and_backfilled(world)
    site, forge = world.site, world.jira.forge
    site.add_project("LATER", "Later")
    later = site.add_worklog(
        site.add_issue("LATER", "While away").id,
        "user-1",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=600,
        notify=False,
    )
    world.jira.clock.advance(61)
    world.advance(FOUR_HOURS + 60)  # no Forge call for hours: the token has lapsed
    site.calls.reset()

    await reconcile_all(world.runtime)
    await world.runtime.jobs.drain()

    assert site.calls.total() == 0  # nothing to call Jira with, so no call
    world.forge.app_system_token = False  # a UI call that brings no token, to look
    waiting = await sync_state(world)
    assert waiting["state"] == "waiting" and waiting["error"] is None
    assert waiting["message"].startswith("Waiting for Jira")
    me = await world.forge_api("POST", "/api/clients", json={"name": "X", "currency": "USD"})
    assert me.status_code == 503 and me.json()["error"]["code"] == "waiting_for_jira"
    world.forge.app_system_token = True

    delivery = await forge.run_scheduled(site, world.forge)  # the hourly trigger's token
    await world.settle()

    assert delivery.delivered
    assert later.id in await mirrored(world)
    assert await mirrored(world) == jira_truth(site)
    assert (await sync_state(world))["state"] == "succeeded"


async def test_a_token_jira_refuses_is_forgotten_and_the_site_waits_for_the_next(
    world: World,
) -> None:
    await installed_and_backfilled(world)
    site, forge = world.site, world.jira.forge
    assert forge.installations  # installed, with the token Jira is about to refuse
    # Jira's clock says the token has ended while ours does not yet know: Jira's 401 says so.
    jira_clock = world.jira.token_clock
    world.jira.token_clock = lambda: jira_clock() + FOUR_HOURS + 60  # type: ignore[method-assign]
    site.add_project("LATER", "Later")
    later = site.add_worklog(
        site.add_issue("LATER", "While away").id,
        "user-1",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=600,
        notify=False,
    )
    world.jira.clock.advance(61)

    await reconcile_all(world.runtime)
    await world.runtime.jobs.drain()

    assert site.gateway_calls.count("GET", UPDATED) >= 1  # asked, and refused
    assert await stored_token_expiry(world) is None  # the refused token is gone
    world.runtime.clock.advance(FOUR_HOURS + 60)  # now both clocks agree
    world.forge.app_system_token = False
    assert (await sync_state(world))["state"] == "waiting"
    world.forge.app_system_token = True

    # Anyone opening the app brings a token (invokeRemote): the sync carries on by itself.
    assert (await world.forge_api("GET", "/api/clients")).status_code == 200
    await world.runtime.jobs.drain()
    async with world.runtime.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Worklog))).scalar_one() == 1
    assert later.id in await mirrored(world)
    assert (await sync_state(world))["state"] == "succeeded"


async def test_the_freshest_token_wins_and_an_impossible_one_is_refused(world: World) -> None:
    installation = await world.install_forge()
    await world.settle()
    stored = await stored_token_expiry(world)
    assert stored is not None
    forge = world.jira.forge
    now = world.runtime.clock()

    def token_lasting_until(exp: float) -> str:
        import jwt

        return jwt.encode({"sub": "app:x", "exp": int(exp)}, "k" * 32, algorithm="HS256")

    async def ui_call_with(token: str) -> None:
        headers = {
            "Authorization": f"Bearer {forge.ui_token(world.site, world.forge, 'user-1')}",
            "x-forge-oauth-system": token,
        }
        response = await world.client.get("/api/clients", headers=headers)
        assert response.status_code == 200, response.text

    await ui_call_with(token_lasting_until(stored.timestamp() - 600))  # older: kept out
    assert await stored_token_expiry(world) == stored
    await ui_call_with(token_lasting_until(now + FOUR_HOURS + 3600))  # no Forge token lasts so
    assert await stored_token_expiry(world) == stored
    fresher = stored.timestamp() + 30
    await ui_call_with(token_lasting_until(fresher))
    assert await stored_token_expiry(world) == datetime.fromtimestamp(int(fresher), UTC)
    assert installation.system_tokens  # the emulator's own stays valid in Jira


async def test_a_read_that_began_before_a_newer_event_leaves_that_event_to_read(
    world: World,
) -> None:
    """The request is cleared by the version that was read: an event arriving while Jira
    was being read for the same worklog keeps its request for the next round."""
    from app.db import transaction
    from app.timeutil import utc_now
    from app.worklogs import repository

    await world.install_forge()
    async with world.runtime.sessions() as session:
        tenant_id = (await session.execute(select(ForgeInstallation.tenant_id))).scalar_one()
    assert tenant_id is not None
    async with transaction(world.runtime.sessions) as session:
        await repository.request_refreshes(session, [(tenant_id, 7), (tenant_id, 8)], utc_now())
    async with world.runtime.sessions() as session:
        being_read = await repository.pending_refreshes(session, tenant_id, 10)
    async with transaction(world.runtime.sessions) as session:  # worklog 8 changes again
        await repository.request_refreshes(session, [(tenant_id, 8), (tenant_id, 8)], utc_now())
    async with transaction(world.runtime.sessions) as session:
        await repository.clear_refreshes(session, tenant_id, being_read)
    async with world.runtime.sessions() as session:
        assert await repository.pending_refreshes(session, tenant_id, 10) == [(8, 2)]


async def test_a_ui_call_right_after_an_early_event_places_the_site_itself(world: World) -> None:
    site, forge = world.site, world.jira.forge
    world.forge.app_system_token = False  # no token with the events: Jira cannot be asked
    forge.new_installation(site, world.forge)
    site.add_project("EARLY", "Early")
    issue = site.add_issue("EARLY", "Soon").id
    site.add_worklog(
        issue,
        "user-1",
        started="2026-11-02T09:00:00.000+0000",
        time_spent_seconds=60,
        created_ms=site.now_ms() - 120_000,  # out of Jira's last minute: a backfill sees it
    )

    [refused] = await forge.deliver_events(site)
    assert [a.status_code for a in refused.attempts] == [503] * 5

    # The UI call names the site's URL: it places the site (the event left it unplaced).
    clients = await world.forge_api("GET", "/api/clients")
    assert clients.status_code == 200, clients.text
    world.forge.app_system_token = True
    later = site.add_worklog(
        issue, "user-1", started="2026-11-03T09:00:00.000+0000", time_spent_seconds=120
    )
    [delivered] = await forge.deliver_events(site)
    await world.settle()
    assert [a.status_code for a in delivered.attempts] == [204]
    # The first event was refused for good, but placing the site started its backfill.
    assert await mirrored(world) == jira_truth(site)
    assert later.id in await mirrored(world)
