"""Intuit's OAuth 2.0 endpoints over HTTP: `GET /connect/oauth2` (the consent screen, which
approves or denies at once), `POST /oauth2/v1/tokens/bearer` and
`POST /v2/oauth2/tokens/revoke`. The rules are in `authority`."""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from sandbox.quickbooks.authority import AuthorizeRejected
from sandbox.quickbooks.calls import Call
from sandbox.quickbooks.errors import OAuthError

if TYPE_CHECKING:
    from sandbox.quickbooks.emulator import QuickBooksSandbox

AUTHORIZE_PATH = "/connect/oauth2"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _sandbox(request: Request) -> QuickBooksSandbox:
    sandbox: QuickBooksSandbox = request.app.state.sandbox
    return sandbox


def _record(request: Request, route: str) -> None:
    _sandbox(request).calls.record(Call(request.method, route, None, None, None))


@router.get(AUTHORIZE_PATH)
async def authorize(request: Request) -> Response:
    _record(request, AUTHORIZE_PATH)
    try:
        location = _sandbox(request).authority.authorize(dict(request.query_params))
    except AuthorizeRejected as rejected:
        page = f"<html><body><h1>Something went wrong</h1><p>{escape(rejected.message)}</p>"
        return HTMLResponse(page + "</body></html>", status_code=400)
    return RedirectResponse(location, status_code=302)


@router.post(TOKEN_PATH)
async def token(request: Request) -> Response:
    _record(request, TOKEN_PATH)
    await _sandbox(request).oauth_faults.wait_if_held("POST", TOKEN_PATH)
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    body = _sandbox(request).authority.token(request.headers.get("authorization"), form)
    return JSONResponse(body, headers=NO_STORE)


@router.post(REVOKE_PATH)
async def revoke(request: Request) -> Response:
    _record(request, REVOKE_PATH)
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = dict(parse_qsl(raw.decode("utf-8", "replace")))
    token_value = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token_value, str) or not token_value:
        raise OAuthError(400, "invalid_request", "token is required")
    _sandbox(request).authority.revoke(request.headers.get("authorization"), token_value)
    return Response(status_code=200)
