"""Many webhooks at once: each answered only once durable, and together they converge."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select

from app.worklogs.models import Worklog
from connect.qsh import query_string_hash
from tests.app.worklogs.test_webhook_convergence import _history
from tests.support.world import World, jira_world

WEBHOOK = "/webhooks/jira/worklog"


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path) as world:
        yield world


async def test_a_burst_of_concurrent_webhooks_is_all_stored_and_converges(world: World) -> None:
    installation = await world.install()
    await world.settle()
    rng = random.Random(11)
    events, final = _history(rng, worklogs=80)
    burst = events + rng.sample(events, k=len(events) // 3)
    rng.shuffle(burst)
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": installation.client_key,
            "iat": now,
            "exp": now + 180,
            "qsh": query_string_hash("POST", WEBHOOK),
        },
        installation.shared_secret,
        "HS256",
    )
    headers = {"Authorization": f"JWT {token}"}

    responses = await asyncio.gather(
        *(world.client.post(WEBHOOK, json=event, headers=headers) for event in burst)
    )

    assert [r.status_code for r in responses] == [204] * len(burst)
    async with world.runtime.sessions() as session:
        rows = {w.id: w for w in (await session.execute(select(Worklog))).scalars()}
    live = {
        i: (w.time_spent_seconds, w.comment)
        for i, w in rows.items()
        if w.deleted_in_jira_at is None
    }
    assert live == {i: state for i, state in final.items() if state is not None}
    assert {i for i, w in rows.items() if w.deleted_in_jira_at} == {
        i for i, state in final.items() if state is None
    }
