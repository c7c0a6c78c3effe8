"""Reading from Jira the worklogs Forge's events named.

A Forge created/updated worklog event is stored as "read this worklog" (`worklog_refreshes`),
answered 2xx once that is committed. This job then reads them in bulk (`POST /worklog/list`,
up to 1,000 a call, through whichever door `app.tenants.jira` picks) and mirrors Jira's copy
with the same conditional upsert as everything else: a newer `updated` wins and a tombstone
is final, so duplicates, retries and reordered events all end in Jira's state. A worklog
Jira no longer returns was deleted meanwhile: its deletion event, or reconciliation's
`/worklog/deleted`, tombstones it. A request that arrived while its worklog was being read
(a newer version) stays for the next round. Issues the worklogs name are looked up after,
as for webhooks.
"""

from __future__ import annotations

import logging

from app.db import transaction
from app.runtime import Runtime
from app.tenants.jira import jira_access
from app.worklogs import repository
from app.worklogs.issues import resolve_issues
from app.worklogs.sync import mark_waiting, parse_all
from connect.jira import JiraAuthenticationError, JiraError

logger = logging.getLogger(__name__)

BATCH = 1000  # what one `/worklog/list` call takes


async def tenants_to_refresh(runtime: Runtime) -> list[int]:
    async with runtime.sessions() as session:
        return await repository.tenants_with_refreshes(session)


async def refresh_worklogs(runtime: Runtime, tenant_id: int) -> int:
    """Read every requested worklog of the tenant from Jira; returns how many were read.
    Without a way to Jira now (waiting for a Forge token) the requests stay, to be read
    once there is."""
    read = 0
    while True:
        async with runtime.sessions() as session:
            access = await jira_access(runtime, session, tenant_id)
            pending = await repository.pending_refreshes(session, tenant_id, BATCH)
        if not pending:
            break
        if access.client is None:
            if access.waiting:
                await mark_waiting(runtime, tenant_id)
            return read
        try:
            raw = await access.client.worklogs_by_ids([w for w, _ in pending])
        except JiraAuthenticationError as exc:
            if access.door == "forge":
                await mark_waiting(runtime, tenant_id)
                return read
            logger.warning("reading worklogs failed tenant=%s: %s", tenant_id, exc.message)
            return read
        except JiraError as exc:
            logger.warning("reading worklogs failed tenant=%s: %s", tenant_id, exc.message)
            return read
        worklogs = parse_all(raw)
        async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
            await repository.upsert_worklogs(session, tenant_id, worklogs)
            await repository.clear_refreshes(session, tenant_id, pending)
        read += len(worklogs)
    if read:
        await resolve_issues(runtime, tenant_id)
    return read
