"""Whatever order Jira's webhooks arrive in, and however often, the mirror ends as Jira is."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.db import transaction
from app.worklogs import service
from app.worklogs.models import Worklog
from tests.support.db import add_tenant, session_factory

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _jira_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _event(kind: str, worklog_id: int, version: int, seconds: int) -> dict[str, Any]:
    updated = T0 + timedelta(minutes=version)
    return {
        "timestamp": int(updated.timestamp() * 1000),
        "webhookEvent": kind,
        "worklog": {
            "id": str(worklog_id),
            "issueId": str(10_000 + worklog_id % 7),
            "author": {"accountId": f"user-{worklog_id % 3}", "displayName": "Someone"},
            "started": "2026-10-30T09:00:00.000+0200",
            "timeSpentSeconds": seconds,
            "comment": f"version {version}",
            "created": _jira_time(T0),
            "updated": _jira_time(updated),
        },
    }


def _history(rng: random.Random, worklogs: int) -> tuple[list[dict[str, Any]], dict[int, Any]]:
    """Every event Jira sent, in Jira's order, and Jira's final state (None = deleted)."""
    events: list[dict[str, Any]] = []
    final: dict[int, Any] = {}
    for worklog_id in range(1, worklogs + 1):
        versions = rng.randint(1, 5)
        for version in range(versions):
            seconds = 900 * rng.randint(1, 16)
            kind = "worklog_created" if version == 0 else "worklog_updated"
            events.append(_event(kind, worklog_id, version, seconds))
            final[worklog_id] = (seconds, f"version {version}")
        if rng.random() < 0.25:
            events.append(_event("worklog_deleted", worklog_id, versions, 0))
            final[worklog_id] = None
    return events, final


@pytest.mark.parametrize("seed", range(6))
async def test_shuffled_duplicated_webhooks_converge_to_jiras_state(
    database_url: str, seed: int
) -> None:
    rng = random.Random(seed)
    events, final = _history(rng, worklogs=40)
    delivered = events + rng.sample(events, k=len(events) // 2)  # duplicates
    rng.shuffle(delivered)
    async with session_factory(database_url) as sessions:
        tenant_id = await add_tenant(sessions)
        for event in delivered:
            async with transaction(sessions) as session:
                await service.apply_webhook(session, tenant_id, event)
        async with sessions() as session:
            rows = {w.id: w for w in (await session.execute(select(Worklog))).scalars()}
    live = {
        i: (w.time_spent_seconds, w.comment)
        for i, w in rows.items()
        if w.deleted_in_jira_at is None
    }
    assert live == {i: state for i, state in final.items() if state is not None}
    deleted = {i for i, w in rows.items() if w.deleted_in_jira_at is not None}
    assert deleted == {i for i, state in final.items() if state is None}


async def test_a_late_update_never_resurrects_a_deleted_worklog(database_url: str) -> None:
    async with session_factory(database_url) as sessions:
        tenant_id = await add_tenant(sessions)
        for event in (
            _event("worklog_created", 1, 0, 3600),
            _event("worklog_deleted", 1, 2, 3600),
            _event("worklog_updated", 1, 5, 7200),  # even one claiming to be newer
        ):
            async with transaction(sessions) as session:
                await service.apply_webhook(session, tenant_id, event)
        async with sessions() as session:
            worklog = (await session.execute(select(Worklog))).scalar_one()
    assert worklog.deleted_in_jira_at is not None
    assert worklog.time_spent_seconds == 3600


async def test_worklogs_of_two_sites_with_the_same_jira_id_stay_apart(database_url: str) -> None:
    async with session_factory(database_url) as sessions:
        first = await add_tenant(sessions, "site-one")
        second = await add_tenant(sessions, "site-two")
        async with transaction(sessions) as session:
            await service.apply_webhook(session, first, _event("worklog_created", 7, 0, 600))
            await service.apply_webhook(session, second, _event("worklog_created", 7, 0, 1200))
            await service.apply_webhook(session, second, _event("worklog_deleted", 7, 1, 1200))
        async with sessions() as session:
            rows = {w.tenant_id: w for w in (await session.execute(select(Worklog))).scalars()}
    assert rows[first].time_spent_seconds == 600 and rows[first].deleted_in_jira_at is None
    assert rows[second].deleted_in_jira_at is not None


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ([], "invalid_webhook"),
        ({"webhookEvent": "jira:issue_updated"}, "invalid_webhook"),
        ({"webhookEvent": "worklog_created", "worklog": {"id": "x"}}, "invalid_worklog"),
        ({"webhookEvent": "worklog_deleted", "worklog": {}}, "invalid_worklog"),
    ],
)
async def test_bad_webhooks_are_refused_and_store_nothing(
    database_url: str, payload: object, code: str
) -> None:
    async with session_factory(database_url) as sessions:
        tenant_id = await add_tenant(sessions)
        with pytest.raises(service.Unprocessable) as caught:
            async with transaction(sessions) as session:
                await service.apply_webhook(session, tenant_id, payload)
        assert caught.value.code == code
        async with sessions() as session:
            assert (await session.execute(select(Worklog))).first() is None
