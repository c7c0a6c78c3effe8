"""People by name: who generated or finalized an invoice is stored as the Atlassian account
id of the Connect JWT, nothing more. Its name is Jira's, asked as the app
(`GET /rest/api/3/user`) and kept in the process for an hour (`Runtime.display_names`: a
name seldom changes, and an hour-old one is good enough to read).

A person Jira does not name right now (it is down, slow, or the account is gone) is shown by
account id, and Jira is not asked about them again for a minute (`Runtime.unnamed`):
reading an invoice never waits long on Jira. Keyed by tenant, one site's for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends

from app.dependencies import RuntimeDep, before_the_transaction
from app.runtime import Runtime
from app.tenants.auth import ApiContext
from app.tenants.jira import jira_for_tenant
from app.tenants.schemas import Person
from app.tenants.service import TenantRef
from connect.jira import JiraError, SiteJiraClient

logger = logging.getLogger(__name__)

NAME_LOOKUP_TIMEOUT_SECONDS = 3.0


class PersonNames:
    """The people a response names, as `{account_id, display_name}`, for one site."""

    def __init__(self, runtime: Runtime, tenant: TenantRef) -> None:
        self._runtime = runtime
        self._tenant = tenant

    def _key(self, account_id: str) -> tuple[int, str]:
        return (self._tenant.id, account_id)

    def person(self, account_id: str | None) -> Person | None:
        if account_id is None:
            return None
        name = self._runtime.display_names.get(self._key(account_id))
        return Person(account_id=account_id, display_name=name)

    async def learn(self, account_ids: Iterable[str | None]) -> None:
        """Ask Jira for the names not known yet; never raises. Not from inside a writing
        transaction: on SQLite that would hold the writer lock while Jira answers."""
        known, unnamed = self._runtime.display_names, self._runtime.unnamed
        wanted = sorted(
            {
                a
                for a in account_ids
                if a and known.get(self._key(a)) is None and unnamed.get(self._key(a)) is None
            }
        )
        if not wanted:
            return
        async with self._runtime.sessions() as session:
            jira = await jira_for_tenant(self._runtime, session, self._tenant.id)
        if jira is None:
            return
        try:
            async with asyncio.timeout(NAME_LOOKUP_TIMEOUT_SECONDS):
                await asyncio.gather(*(self._ask(jira, a) for a in wanted))
        except TimeoutError:
            logger.info("Jira did not name %d people in time", len(wanted))
            for account_id in wanted:
                if known.get(self._key(account_id)) is None:
                    unnamed.put(self._key(account_id), True)

    async def _ask(self, jira: SiteJiraClient, account_id: str) -> None:
        name: object = None
        try:
            name = (await jira.user(account_id)).get("displayName")
        except (JiraError, ValueError, AttributeError) as exc:  # refused, or not a user
            logger.info("Jira did not name account %s: %s", account_id, exc)
        if isinstance(name, str) and name.strip():
            self._runtime.display_names.put(self._key(account_id), name.strip())
        else:
            self._runtime.unnamed.put(self._key(account_id), True)


@before_the_transaction
async def person_names(runtime: RuntimeDep, context: ApiContext) -> PersonNames:
    """The caller's own name is asked for before the request's transaction opens: they are
    who generates or finalizes, and a write must not wait on Jira inside its transaction."""
    names = PersonNames(runtime, context.tenant)
    await names.learn([context.account_id])
    return names


PersonNamesDep = Annotated[PersonNames, Depends(person_names)]
