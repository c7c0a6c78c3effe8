"""A site backfilled from the Jira emulator (the same worklogs as billing's tests):

ALPHA (user-1): Oct 31 23:30-02:00 (1.00 h), Nov 1 00:30+01:00 (0.50 h), Nov 15 (1.50 h),
Dec 2 (2.00 h); BETA (user-1): Nov 10 (0.25 h).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.world import World, jira_world


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path) as world:
        site = world.site
        site.add_project("ALPHA", "Alpha")
        site.add_project("BETA", "Beta")
        alpha = site.add_issue("ALPHA", "Build it").id
        beta = site.add_issue("BETA", "Run it").id
        for started, issue, seconds in (
            ("2026-10-31T23:30:00.000-0200", alpha, 3600),
            ("2026-11-01T00:30:00.000+0100", alpha, 1800),
            ("2026-11-15T09:00:00.000+0000", alpha, 5400),
            ("2026-12-02T09:00:00.000+0000", alpha, 7200),
            ("2026-11-10T09:00:00.000+0000", beta, 900),
        ):
            site.add_worklog(
                issue, "user-1", started=started, time_spent_seconds=seconds, notify=False
            )
        world.jira.clock.advance(61)
        await world.install()
        await world.settle()
        yield world
