"""The mirror equals Jira: backfill, webhooks, reconciliation, crashes, over real HTTP.

Jira is the emulator in `sandbox/jira`; what the app holds is read back through its own API,
as the pages would read it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.tenants.models import Tenant
from app.worklogs.jira_format import adf_to_text, parse_jira_datetime
from app.worklogs.models import Worklog, WorklogSync
from app.worklogs.sync import run_worklog_sync
from sandbox.jira import Site
from sandbox.jira.seeding import seed_site
from tests.support.world import World, jira_world

UPDATED = "/rest/api/3/worklog/updated"
LIST = "/rest/api/3/worklog/list"
SEARCH = "/rest/api/3/search/jql"


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path) as world:
        yield world


def jira_truth(site: Site) -> dict[str, dict[str, Any]]:
    """Every live worklog as Jira holds it, in the API's terms."""
    truth = {}
    for worklog in site.worklogs.values():
        issue = site.issues[worklog.issue_id]
        started = parse_jira_datetime(worklog.started, "started")
        truth[worklog.id] = {
            "issue_id": worklog.issue_id,
            "issue_key": issue.key,
            "issue_summary": issue.summary,
            "author": worklog.author_id,
            "started": started,
            "time_spent_seconds": worklog.time_spent_seconds,
            "comment": adf_to_text(worklog.comment),
        }
    return truth


async def mirrored(world: World, site: Site | None = None) -> dict[str, dict[str, Any]]:
    """Every worklog the app shows, page after page, as the Worklogs page reads them."""
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        response = await world.api("GET", "/api/worklogs", params=params, site=site)
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


async def sync_state(world: World, site: Site | None = None) -> dict[str, Any]:
    response = await world.api("GET", "/api/sync/worklogs", site=site)
    assert response.status_code == 200
    state: dict[str, Any] = response.json()
    return state


async def test_install_backfills_thousands_of_worklogs_through_rate_limits(world: World) -> None:
    seed_site(world.site, project_keys=("ALPHA", "BETA"), issues=250, worklogs=3200)
    world.site.faults.fail_next(2, status=429, retry_after=3, route=UPDATED)
    world.site.faults.fail_next(2, status=429, route=LIST)  # no Retry-After: backoff
    world.site.faults.fail_next(1, status=503, retry_after=1, route=SEARCH)

    await world.install()
    await world.settle()

    assert await mirrored(world) == jira_truth(world.site)
    state = await sync_state(world)
    assert state["state"] == "succeeded" and state["error"] is None
    assert state["processed"] == state["total"] == 3200
    assert state["finished_at"] is not None
    assert 3.0 in world.sleeps.delays  # Retry-After honoured exactly
    # 4 pages of ids + 4 lists (+ 5 refused attempts) + issue lookups in bulk.
    calls = world.site.calls
    assert calls.count("GET", UPDATED) == 4 + 2
    assert calls.count("POST", LIST) == 4 + 2
    # 250 issues: ids 200 + 50 per query, 100 issues per answer page: 3 calls, +1 refused.
    assert calls.count("POST", SEARCH) == 3 + 1


async def test_webhooks_shuffled_and_repeated_converge_to_jira(world: World) -> None:
    await world.install()
    await world.settle()
    site, clock = world.site, world.jira.clock
    site.add_project("WEB", "Webhooks")
    issues = [site.add_issue("WEB", f"Issue {n}").id for n in range(6)]
    rng = random.Random(7)
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
    pending = site.outbox.pending
    for delivery in rng.sample(pending, 15):
        site.outbox.duplicate(delivery.id, at_end=True)
    order = [d.id for d in site.outbox.pending]
    rng.shuffle(order)
    site.outbox.reorder(order)
    site.calls.reset()

    await world.settle()

    assert all(result.ok for result in site.outbox.delivered)
    assert await mirrored(world) == jira_truth(site)
    # 66 events on 6 new issues: the issues were looked up in one search, not per event.
    assert site.calls.count("POST", SEARCH) == 1
    assert site.calls.count("GET", UPDATED) == 0


async def test_reconciliation_catches_webhooks_jira_never_delivered(world: World) -> None:
    await world.install()
    await world.settle()
    site = world.site
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
    site.outbox.clear()  # Jira lost both webhooks
    assert (await mirrored(world))[kept.id]["time_spent_seconds"] == 3600

    # Jira leaves out the last minute of changes; the next run after that sees them.
    world.jira.clock.advance(61)
    started = await world.api("POST", "/api/sync/worklogs")
    assert started.status_code == 202
    await world.settle()

    assert await mirrored(world) == jira_truth(site)
    assert gone.id not in await mirrored(world)


async def test_changes_from_the_last_minute_wait_for_the_next_run(world: World) -> None:
    await world.install()
    await world.settle()
    site = world.site
    site.add_project("NOW", "Now")
    recent = site.add_worklog(
        site.add_issue("NOW", "Fresh").id,
        "user-1",
        started="2026-11-02T10:00:00.000+0000",
        time_spent_seconds=60,
        notify=False,
    )
    await world.api("POST", "/api/sync/worklogs")
    await world.settle()
    assert recent.id not in await mirrored(world)
    world.jira.clock.advance(61)
    await world.api("POST", "/api/sync/worklogs")
    await world.settle()
    assert recent.id in await mirrored(world)


async def test_a_jira_outage_keeps_the_cursor_and_the_next_run_catches_up(
    world: World,
) -> None:
    seed_site(world.site, issues=50, worklogs=2500)
    await world.install()
    await world.settle()
    assert len(await mirrored(world)) == 2500
    cursor_before = await _cursor(world)

    world.site.add_project("MORE", "More")
    more = world.site.add_issue("MORE", "Later work").id
    for n in range(1200):
        world.site.add_worklog(
            more,
            "user-1",
            started="2026-11-10T09:00:00.000+0000",
            time_spent_seconds=60 + n,
            notify=False,
        )
    world.jira.clock.advance(61)
    world.site.faults.fail_next(1000, status=503, route=LIST)  # past every retry
    await world.api("POST", "/api/sync/worklogs")
    await world.settle()
    state = await sync_state(world)
    assert state["state"] == "failed"
    assert state["error"].startswith("Jira answered:")
    assert state["finished_at"] is not None
    assert len(await mirrored(world)) == 2500  # nothing half-applied
    assert await _cursor(world) == cursor_before

    world.site.faults.clear()
    await world.api("POST", "/api/sync/worklogs")
    await world.settle()
    assert await mirrored(world) == jira_truth(world.site)
    assert (await sync_state(world))["state"] == "succeeded"


async def test_a_run_killed_mid_backfill_resumes_without_loss_or_duplicates(
    world: World,
) -> None:
    seed_site(world.site, issues=40, worklogs=3500)
    stalled = asyncio.Event()
    never = asyncio.Event()

    async def stall_from_the_third_list_call(_seconds: float) -> None:
        if world.site.calls.count("POST", LIST) >= 3:
            stalled.set()
            await never.wait()

    world.jira.sleep = stall_from_the_third_list_call
    world.site.faults.latency_seconds = 0.001
    await world.install()  # the backfill starts, then hangs inside Jira
    await stalled.wait()
    # The writer still commits the two pages it was handed before the reader hung.
    await eventually(lambda: _processed(world), equals=2000)
    await world.runtime.jobs.close()  # the process dies mid-run
    world.site.faults.latency_seconds = 0.0

    half = await mirrored(world)
    assert len(half) == 2000
    async with world.runtime.sessions() as session:
        sync = (await session.execute(select(WorklogSync))).scalar_one()
    assert sync.state == "running"
    assert sync.processed == len(half)

    tenant_id = await _tenant_id(world)
    # Another process may not take over a run whose heartbeat is fresh...
    assert not await run_worklog_sync(world.runtime, tenant_id)
    # ...but once the heartbeat is stale, the next run resumes from the committed cursor.
    async with world.runtime.sessions() as session:
        await session.execute(
            update(WorklogSync).values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=10))
        )
        await session.commit()
    world.site.calls.reset()
    assert await run_worklog_sync(world.runtime, tenant_id)
    assert await mirrored(world) == jira_truth(world.site)
    assert world.site.calls.count("POST", LIST) == 2  # only the pages not yet committed
    assert (await sync_state(world))["state"] == "succeeded"


async def test_each_site_sees_only_its_own_worklogs(world: World) -> None:
    other = world.jira.add_site("https://globex.atlassian.net")
    other.add_user("Globex Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    seed_site(world.site, project_keys=("ACME",), issues=5, worklogs=40)
    seed_site(other, project_keys=("GLOBEX",), issues=5, worklogs=30)
    await world.install()
    await world.install(other)
    await world.settle()
    mine, theirs = await mirrored(world), await mirrored(world, site=other)
    assert mine == jira_truth(world.site) and theirs == jira_truth(other)
    assert {w["issue_key"].split("-")[0] for w in theirs.values()} == {"GLOBEX"}


async def test_worklog_filters_and_the_local_work_day(world: World) -> None:
    await world.install()
    site = world.site
    site.add_project("FLT", "Filters")
    issue = site.add_issue("FLT", "Filtered").id
    late_night = site.add_worklog(
        issue,
        "user-1",
        started="2026-11-03T00:30:00.000+0100",
        time_spent_seconds=5400,
        notify=False,
    )
    site.add_worklog(
        issue,
        "user-admin",
        started="2026-11-05T09:00:00.000+0000",
        time_spent_seconds=1800,
        notify=False,
    )
    world.jira.clock.advance(61)
    await world.api("POST", "/api/sync/worklogs")
    await world.settle()

    async def ids(**params: str) -> set[str]:
        response = await world.api("GET", "/api/worklogs", params=params)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    # 00:30+01:00 on the 3rd is the 2nd in UTC, but the work was done on the 3rd.
    assert await ids(**{"from": "2026-11-03", "to": "2026-11-03"}) == {late_night.id}
    assert await ids(author="user-1") == {late_night.id}
    assert len(await ids(project_key="FLT")) == 2
    assert await ids(project_key="NOPE") == set()
    item = (await world.api("GET", "/api/worklogs", params={"author": "user-1"})).json()
    [only] = item["items"]
    assert only["started"] == "2026-11-03T00:30:00.000+01:00"
    assert only["hours"] == "1.50" and only["billable"] is True
    assert only["author"] == {"account_id": "user-1", "display_name": "Mia Krystof"}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"limit": "501"}, "invalid_request"),
        ({"limit": "0"}, "invalid_request"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "invalid_period"),
        ({"from": "yesterday"}, "invalid_request"),
    ],
)
async def test_bad_worklog_queries_get_a_specific_error(
    world: World, params: dict[str, str], code: str
) -> None:
    await world.install()
    response = await world.api("GET", "/api/worklogs", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


async def _tenant_id(world: World) -> int:
    async with world.runtime.sessions() as session:
        return (await session.execute(select(Tenant.id))).scalar_one()


async def _processed(world: World) -> int:
    async with world.runtime.sessions() as session:
        return (await session.execute(select(WorklogSync.processed))).scalar_one()


async def eventually(
    read: Callable[[], Awaitable[Any]], *, equals: Any, within: float = 20.0
) -> None:
    """Wait for a state to be reached (bounded): for progress made by another task."""
    deadline = asyncio.get_running_loop().time() + within
    while (value := await read()) != equals:
        assert asyncio.get_running_loop().time() < deadline, f"stuck at {value!r}"
        await asyncio.sleep(0.01)


async def _cursor(world: World) -> int:
    async with world.runtime.sessions() as session:
        return (await session.execute(select(WorklogSync.updated_cursor_ms))).scalar_one()


async def test_one_sites_backfill_does_not_hold_up_another_sites_webhooks(world: World) -> None:
    other = world.jira.add_site("https://globex.atlassian.net")
    other.add_user("Globex Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    other.add_user("Gus", account_id="user-2")
    await world.install(other)
    await world.settle()
    seed_site(world.site, issues=20, worklogs=2500)
    stalled = asyncio.Event()
    never = asyncio.Event()

    async def acme_hangs_in_jira(_seconds: float) -> None:
        stalled.set()
        await never.wait()

    world.jira.sleep = acme_hangs_in_jira
    world.site.faults.latency_seconds = 0.001  # only acme's calls go through the hang
    await world.install()  # acme's backfill starts and hangs inside Jira
    await stalled.wait()

    other.add_project("GLX", "Globex")
    issue = other.add_issue("GLX", "Busy").id
    for n in range(20):
        other.add_worklog(
            issue, "user-2", started="2026-11-04T09:00:00.000+0000", time_spent_seconds=600 + n
        )
    results = await world.jira.deliver_webhooks(other)
    assert len(results) == 20 and all(r.status_code == 204 for r in results)
    async with world.runtime.sessions() as session:
        stored = (await session.execute(select(func.count()).select_from(Worklog))).scalar_one()
    assert stored == 20
    never.set()
    world.jira.sleep = asyncio.sleep
    world.site.faults.latency_seconds = 0.0


async def test_a_first_backfill_skips_deletions_from_before_the_app_was_installed(
    world: World,
) -> None:
    seed_site(world.site, issues=10, worklogs=3000)
    long_ago = world.jira.clock.now_ms() - 90 * 24 * 3600 * 1000
    for worklog_id in list(world.site.worklogs)[:2500]:
        world.site.delete_worklog(worklog_id, deleted_ms=long_ago, notify=False)
    await world.install()
    await world.settle()
    assert await mirrored(world) == jira_truth(world.site)
    # 2,500 old deletions would be 3 pages from the start of time; from install on, one call.
    assert world.site.calls.count("GET", "/rest/api/3/worklog/deleted") == 1

    gone = next(iter(world.site.worklogs))
    world.jira.clock.advance(ms=5)
    world.site.delete_worklog(gone, notify=False)  # a deletion after install, webhook lost
    world.jira.clock.advance(61)
    await world.api("POST", "/api/sync/worklogs")
    await world.settle()
    assert gone not in await mirrored(world)


async def test_a_run_taken_over_while_it_lagged_stops_and_leaves_the_site_to_the_new_one(
    world: World,
) -> None:
    """A run alive but silent past STALE_RUN_AFTER (a starved process, a stalled database)
    is taken over. When it wakes it must not write its page, nor mark the site's sync
    finished while the run that took over is still going."""
    seed_site(world.site, project_keys=("ACME",), issues=5, worklogs=40)
    world.jira.clock.advance(61)
    await world.install()
    await world.settle()
    tenant_id = await _tenant_id(world)
    world.site.add_worklog(
        world.site.add_issue("ACME", "Late work").id,
        "user-1",
        started="2026-11-20T09:00:00.000+0000",
        time_spent_seconds=600,
        notify=False,
    )
    world.jira.clock.advance(61)
    world.site.faults.hold(method="POST", route=LIST)
    lagging = asyncio.create_task(run_worklog_sync(world.runtime, tenant_id))
    await eventually(lambda: _held(world), equals=1)
    async with world.runtime.sessions() as session:
        await session.execute(
            update(WorklogSync).values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        await session.commit()
    taking_over = asyncio.create_task(run_worklog_sync(world.runtime, tenant_id))
    await eventually(lambda: _held(world), equals=2)  # both wait on the same page
    world.site.faults.release()
    assert await taking_over
    assert await lagging  # it stopped, saying it ran

    assert await mirrored(world) == jira_truth(world.site)
    async with world.runtime.sessions() as session:
        sync = (await session.execute(select(WorklogSync))).scalar_one()
    assert sync.state == "succeeded"
    # Only the run that holds the site counted its page (the new worklog); the lagging one
    # wrote nothing.
    assert sync.processed == 1


async def _held(world: World) -> int:
    return world.site.faults.waiting
