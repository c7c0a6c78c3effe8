"""Atlassian's personal data reporting API, as the emulated Jira serves it.

Written from Atlassian's user privacy guide for app developers and Forge's privacy API
reference, not from the app's code:

* **Connect apps**: `POST /rest/atlassian-connect/1/report-accounts` on the site, with the
  app's JWT (HS256 with the installation's shared secret, its qsh bound to the request).
* **Forge apps** (and OAuth 2.0 apps): `POST https://api.atlassian.com/app/report-accounts/`
  with the app system token (what `privacy.reportPersonalData` of `@forge/api` calls).
* Body `{"accounts": [{"accountId": "…", "updatedAt": "<RFC 3339>"}]}`, 1 to 90 accounts
  (more, or a malformed body: 400). `updatedAt` is when the app last retrieved the
  account's personal data.
* 200 `{"accounts": [{"accountId", "status"}]}` naming only the accounts to act on: `closed`
  (erase the account's personal data) or `updated` (its profile changed after `updatedAt`:
  refresh it); 204 with no body when there is nothing to act on.
* 429 with `Retry-After` (seconds) when throttled: `Site.privacy.throttle(retry_after)` makes
  the next request answer that.

Controls (tests, and `/_sandbox/sites/{name}/users/{id}/close|rename`): `Site.close_account`
closes an account (Jira then shows it as "Former user", with no email, inactive);
`Site.rename_user` changes a profile (reported `updated` until the app reports a later
`updatedAt`). Every request is recorded in `Site.privacy.reports` (door and account ids).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.jira.account_privacy import Report
from sandbox.jira.auth import authenticate_app
from sandbox.jira.errors import JiraApiError, not_found
from sandbox.jira.rest import GATEWAY_SCOPE_KEY, SITE_SCOPE_KEY, raw_path

if TYPE_CHECKING:
    from sandbox.jira.emulator import JiraSandbox
    from sandbox.jira.site import Site

MAX_ACCOUNTS_PER_REQUEST = 90
CONNECT_PATH = "/rest/atlassian-connect/1/report-accounts"
GATEWAY_PATH = "/app/report-accounts/"

router = APIRouter()


def _sandbox(request: Request) -> JiraSandbox:
    sandbox: JiraSandbox = request.app.state.sandbox
    return sandbox


def _accounts(body: Any) -> list[tuple[str, float]]:
    accounts = body.get("accounts") if isinstance(body, dict) else None
    if not isinstance(accounts, list) or not accounts:
        raise JiraApiError(400, "The request must report at least one account in 'accounts'.")
    if len(accounts) > MAX_ACCOUNTS_PER_REQUEST:
        raise JiraApiError(
            400, f"At most {MAX_ACCOUNTS_PER_REQUEST} accounts can be reported in a request."
        )
    found: list[tuple[str, float]] = []
    for item in accounts:
        account_id = item.get("accountId") if isinstance(item, dict) else None
        updated = item.get("updatedAt") if isinstance(item, dict) else None
        if not isinstance(account_id, str) or not account_id or not isinstance(updated, str):
            raise JiraApiError(400, "Each account needs an 'accountId' and an 'updatedAt'.")
        try:
            moment = datetime.fromisoformat(updated.replace("Z", "+00:00"))
        except ValueError as exc:
            raise JiraApiError(400, f"'{updated}' is not an RFC 3339 date-time.") from exc
        if moment.tzinfo is None:
            raise JiraApiError(400, f"'{updated}' has no time zone.")
        found.append((account_id, moment.timestamp()))
    return found


async def _report(site: Site, door: str, request: Request) -> Response:
    try:
        body = await request.json()
    except ValueError as exc:
        raise JiraApiError(400, "The request body is not valid JSON.") from exc
    accounts = _accounts(body)
    privacy = site.privacy
    retry_after = privacy.take_throttle()
    if retry_after is not None:
        privacy.reports.append(Report(door, [a for a, _ in accounts], 429))
        return JSONResponse(
            {"errorMessages": ["Too many requests."], "errors": {}},
            status_code=429,
            headers={"Retry-After": str(retry_after)},
        )
    statuses = [
        {"accountId": account_id, "status": status}
        for account_id, updated_at in accounts
        if (status := privacy.status(account_id, updated_at)) is not None
    ]
    privacy.reports.append(Report(door, [a for a, _ in accounts], 200 if statuses else 204))
    if not statuses:
        return Response(status_code=204)
    return JSONResponse({"accounts": statuses})


@router.post(CONNECT_PATH)
async def report_accounts_connect(request: Request) -> Response:
    sandbox = _sandbox(request)
    site = request.scope.get(SITE_SCOPE_KEY)
    if site is None or request.scope.get(GATEWAY_SCOPE_KEY):
        raise not_found("No Jira site is served at this address.")
    authenticate_app(
        site,
        "POST",
        raw_path(request),
        request.scope.get("query_string", b"").decode("latin-1"),
        request.headers.get("authorization"),
        sandbox.token_clock(),
    )
    return await _report(site, "connect", request)


@router.post(GATEWAY_PATH)
async def report_accounts_forge(request: Request) -> Response:
    sandbox = _sandbox(request)
    gateway_host = urlsplit(sandbox.gateway_url).netloc.lower()
    if request.scope.get(SITE_SCOPE_KEY) is not None or (
        request.headers.get("host", "").lower() != gateway_host
    ):
        raise not_found("No Jira site is served at this address.")
    installation = sandbox.forge.app_installation(request.headers.get("authorization"))
    return await _report(installation.site, "forge", request)
