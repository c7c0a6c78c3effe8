"""Atlassian's personal data reporting, for the accounts a site's data names.

Worklog360 stores people's display names (worklogs' authors, as Jira sends them, and on
invoices' worklog links and line texts) keyed by their accountId, and accountIds alone for
who finalized an invoice, the people of rate cards, who linked a customer or connected
QuickBooks. Atlassian asks an app that stores personal data to report those accounts
periodically (user privacy guide for app developers):

* `POST /rest/atlassian-connect/1/report-accounts` on the site, as the Connect app (JWT with
  the request's qsh), or `POST https://api.atlassian.com/app/report-accounts/` as the Forge
  app (its app system token); a body of `{"accounts": [{"accountId", "updatedAt"}]}`, at
  most 90 accounts a request, `updatedAt` being when the app last retrieved the account's
  personal data;
* 204: nothing to do; 200 `{"accounts": [{"accountId", "status"}]}` with `closed` (erase
  the account's personal data) or `updated` (refresh it); 429 with `Retry-After`.
* The cycle period is 7 days by default, and an account should not be reported more often
  (`W360_PERSONAL_DATA_CYCLE_DAYS`).

A daily job reports, per site, the accounts whose last report is a cycle old, batch after
batch (not all at once: a burst is what earns the 429). The Jira client waits out a 429's
`Retry-After` and tries again; if Jira keeps refusing, the site's run stops there and the
accounts not reported stay due for the next run.

`closed`: the account's name becomes "Former user" wherever it was stored, finalized
invoices included (their lines' texts and worklog links); everything else of the invoices,
the legal record (number, dates, lines, hours, rates, amounts, totals), is kept, and so is
the accountId (Atlassian does not count an accountId alone as personal data). The account
is never reported again. `updated`: the name is read from Jira again and the mirrored
worklogs take it; issued invoices keep the name they were issued with.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.db import transaction
from app.privacy import repository
from app.runtime import Runtime
from app.tenants import repository as tenants
from app.tenants.jira import jira_for_tenant, personal_data_reporter
from connect.jira import JiraError, SiteJiraClient

logger = logging.getLogger(__name__)

REPORT_BATCH_SIZE = 90  # the API's maximum a request
FORMER_USER = "Former user"  # what Jira itself shows for a closed account


@dataclass(slots=True)
class ReportOutcome:
    reported: int = 0
    closed: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    complete: bool = True


def _rfc3339(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def report_all(runtime: Runtime) -> None:
    """Every site with the app, one after the other; one failing does not stop the rest."""
    async with runtime.sessions() as session:
        tenant_ids = await tenants.installed_tenant_ids(session)
    for tenant_id in tenant_ids:
        try:
            await report_tenant(runtime, tenant_id)
        except Exception:
            logger.exception("personal data report of tenant=%s failed", tenant_id)


async def report_tenant(runtime: Runtime, tenant_id: int) -> ReportOutcome:
    now = runtime.clock.now()
    outcome = ReportOutcome()
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        stored = await repository.stored_account_ids(session, tenant_id)
        await repository.record_accounts(session, tenant_id, sorted(stored), now)
    cycle = timedelta(days=runtime.settings.personal_data_cycle_days)
    async with runtime.sessions() as session:
        due = await repository.due_accounts(session, tenant_id, now - cycle)
        reporter = await personal_data_reporter(runtime, session, tenant_id) if due else None
    if not due:
        return outcome
    if reporter is None:
        logger.info("personal data report of tenant=%s waits: Jira cannot be called", tenant_id)
        outcome.complete = False
        return outcome
    for start in range(0, len(due), REPORT_BATCH_SIZE):
        batch = due[start : start + REPORT_BATCH_SIZE]
        body = {"accounts": [{"accountId": a, "updatedAt": _rfc3339(at)} for a, at in batch]}
        try:
            response = await reporter.client.request(
                "POST", reporter.path, json=body, idempotent=True
            )
        except JiraError as exc:
            logger.info(
                "personal data report of tenant=%s stopped after %d accounts: %s",
                tenant_id,
                outcome.reported,
                exc.message,
            )
            outcome.complete = False
            break
        sent = [a for a, _ in batch]
        statuses = _statuses(response.json() if response.status_code == 200 else None, sent)
        await _act(runtime, tenant_id, statuses, outcome)
        async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
            await repository.mark_reported(session, tenant_id, sent, now)
        outcome.reported += len(sent)
    logger.info(
        "personal data report of tenant=%s: %d accounts, %d closed, %d updated",
        tenant_id,
        outcome.reported,
        len(outcome.closed),
        len(outcome.updated),
    )
    return outcome


def _statuses(body: Any, sent: Sequence[str]) -> dict[str, str]:
    """What Jira said of the accounts this request reported (nothing else is acted on)."""
    wanted = set(sent)
    found: dict[str, str] = {}
    accounts = body.get("accounts") if isinstance(body, dict) else None
    for item in accounts if isinstance(accounts, list) else []:
        if not isinstance(item, dict):
            continue
        account_id, status = item.get("accountId"), item.get("status")
        if account_id in wanted and status in ("closed", "updated"):
            found[str(account_id)] = str(status)
    return found


async def _act(
    runtime: Runtime, tenant_id: int, statuses: dict[str, str], outcome: ReportOutcome
) -> None:
    for account_id, status in sorted(statuses.items()):
        runtime.display_names.discard((tenant_id, account_id))
        runtime.unnamed.discard((tenant_id, account_id))
        if status == "closed":
            await erase_closed_account(runtime, tenant_id, account_id)
            outcome.closed.append(account_id)
        else:
            await refresh_updated_account(runtime, tenant_id, account_id)
            outcome.updated.append(account_id)


async def erase_closed_account(runtime: Runtime, tenant_id: int, account_id: str) -> None:
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        lines = await repository.erase_account(
            session, tenant_id, account_id, FORMER_USER, runtime.clock.now()
        )
    logger.info(
        "erased the name of closed account %s on tenant=%s (%d invoice lines)",
        account_id,
        tenant_id,
        lines,
    )


async def refresh_updated_account(runtime: Runtime, tenant_id: int, account_id: str) -> None:
    """Read the name again; if Jira does not answer, `updatedAt` stays as it was, so the
    next report says `updated` again."""
    async with runtime.sessions() as session:
        jira: SiteJiraClient | None = await jira_for_tenant(runtime, session, tenant_id)
    if jira is None:
        return
    try:
        name = (await jira.user(account_id)).get("displayName")
    except (JiraError, AttributeError) as exc:
        logger.info("Jira did not name updated account %s: %s", account_id, exc)
        return
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        if isinstance(name, str) and name.strip():
            await repository.refresh_name(session, tenant_id, account_id, name.strip())
        await repository.mark_retrieved(session, tenant_id, account_id, runtime.clock.now())
