"""The Jira page around an app's iframe, for the demo and browser tests.

`GET {site}/plugins/servlet/ac/{app_key}/{module_key}` is what Jira shows for a Connect page
module: its own chrome (a top bar, a left nav of the app's pages) and the app's page in an
iframe whose URL carries a page JWT bound by its qsh to that URL, plus `xdm_e`, `cp`, `lic`…
Query parameters `ac.<name>=<value>` reach the iframe as `<name>=<value>`, as in Jira.

The iframe loads `GET /atlassian-connect/all.js` (`host_assets/all.js`), a small stand-in for
Atlassian's all.js: it speaks to `host_assets/host.js` on this page over postMessage, which
answers the AP calls the app's pages use:

* `AP.context.getToken` — `POST {site}/_host/token`: a fresh context JWT (`context-qsh`,
  `sub` = the signed-in user);
* `AP.request` — `{site}/_host/rest/...`: the REST API answering as the signed-in user (a
  worklog logged this way is authored by them), not as the app;
* navigation, resize, flags and simple dialogs, done in the host page itself.

Who is signed in: `?as=<accountId>` on the host page (a switcher in the top bar), by
default the first person with Jira's ADMINISTER permission. The page hands its scripts a
signed host session naming that user; the `_host` calls accept nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from sandbox.jira import rest
from sandbox.jira.errors import JiraApiError, not_found, unauthorized
from sandbox.jira.models import Installation, User
from sandbox.jira.site import Site

ASSETS = Path(__file__).parent / "host_assets"
SESSION_HEADER = "x-host-session"
SESSION_LIFETIME_SECONDS = 12 * 3600
# Sessions are signed with a key of this process: a restart signs everyone out, as it should.
_SESSION_KEY = secrets.token_bytes(32)
PAGE_MODULE_KINDS = ("generalPages", "adminPages")

router = APIRouter(include_in_schema=False)


# --- host sessions -------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def issue_session(site: Site, account_id: str, now: float | None = None) -> str:
    body = json.dumps(
        {
            "site": site.name,
            "sub": account_id,
            "exp": int((now or time.time()) + SESSION_LIFETIME_SECONDS),
        },
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(_SESSION_KEY, body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def session_user(site: Site, token: str | None, now: float | None = None) -> User:
    """The person a host session belongs to; 401 when it is missing, forged or old."""
    if not token or "." not in token:
        raise unauthorized("You are not logged in to this Jira site.")
    body_part, mac_part = token.split(".", 1)
    try:
        body = base64.urlsafe_b64decode(body_part + "=" * (-len(body_part) % 4))
        mac = base64.urlsafe_b64decode(mac_part + "=" * (-len(mac_part) % 4))
        claims = json.loads(body)
    except ValueError as exc:
        raise unauthorized("The host session is not valid.") from exc
    expected = hmac.new(_SESSION_KEY, body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected) or claims.get("site") != site.name:
        raise unauthorized("The host session is not valid.")
    if int(claims.get("exp", 0)) < (now or time.time()):
        raise unauthorized("Your Jira session has expired; reload the page.")
    return site.user(str(claims["sub"]))


# --- page modules ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageModule:
    kind: str
    key: str
    name: str
    url: str


def page_modules(installation: Installation) -> list[PageModule]:
    modules = installation.descriptor.get("modules") or {}
    found: list[PageModule] = []
    for kind in PAGE_MODULE_KINDS:
        entries = sorted(modules.get(kind) or [], key=lambda m: int(m.get("weight", 100)))
        for module in entries:
            name = (module.get("name") or {}).get("value") or module.get("key", "")
            found.append(PageModule(kind, str(module["key"]), str(name), str(module["url"])))
    return found


def host_page_path(site: Site, app_key: str, module_key: str, **params: str) -> str:
    """Where Jira shows a page module: `{base}/plugins/servlet/ac/{app}/{module}`."""
    query = f"?{urlencode(params)}" if params else ""
    return f"{site.context_path}/plugins/servlet/ac/{app_key}/{module_key}{query}"


def default_user(site: Site) -> User:
    people = [u for u in site.users.values() if u.account_type == "atlassian" and u.active]
    if not people:
        raise not_found("This site has no users to sign in as.")
    admins = [u for u in people if {"ADMINISTER", "SYSTEM_ADMIN"} & u.global_permissions]
    return (admins or people)[0]


def _site(request: Request) -> Site:
    site = request.scope.get(rest.SITE_SCOPE_KEY)
    if not isinstance(site, Site):
        raise not_found("No Jira site is served at this address.")
    return site


def _installation(site: Site, app_key: str) -> Installation:
    installation = site.installations.get(app_key)
    if installation is None or not installation.installed:
        raise not_found(f"The app '{app_key}' is not installed on this site.")
    return installation


def _iframe_path(module: PageModule, request: Request) -> str:
    """The module's URL with the page's `ac.*` parameters, as Jira passes them on."""
    extra = [
        (name[3:], value)
        for name, value in request.query_params.multi_items()
        if name.startswith("ac.") and len(name) > 3
    ]
    if not extra:
        return module.url
    separator = "&" if "?" in module.url else "?"
    return f"{module.url}{separator}{urlencode(extra)}"


@router.get("/plugins/servlet/ac/{app_key}/{module_key}", response_class=HTMLResponse)
async def host_page(request: Request, app_key: str, module_key: str) -> Response:
    site = _site(request)
    installation = _installation(site, app_key)
    if not installation.enabled:
        raise JiraApiError(403, f"The app '{app_key}' is disabled on this site.")
    modules = page_modules(installation)
    module = next((m for m in modules if m.key == module_key), None)
    if module is None:
        raise not_found(f"The app has no page called '{module_key}'.")
    chosen = request.query_params.get("as")
    user = site.user(chosen) if chosen else default_user(site)
    iframe_url = site.page_url(app_key, _iframe_path(module, request), user.account_id)
    config = {
        "appKey": app_key,
        "moduleKey": module.key,
        "siteBase": site.context_path,
        "hostPath": host_page_path(site, app_key, "{module}"),
        "session": issue_session(site, user.account_id),
        "accountId": user.account_id,
        "displayName": user.display_name,
        "modules": [m.key for m in modules],
    }
    return HTMLResponse(
        _render_page(site, installation, modules, module, user, iframe_url, config),
        headers={"Cache-Control": "no-store"},
    )


def _nav(site: Site, app_key: str, modules: list[PageModule], current: str, user: User) -> str:
    groups = {"generalPages": "Apps", "adminPages": "Apps administration"}
    html = []
    for kind, label in groups.items():
        items = [m for m in modules if m.kind == kind]
        if not items:
            continue
        html.append(f'<h2 class="nav-heading">{escape(label)}</h2><ul>')
        for m in items:
            href = host_page_path(site, app_key, m.key, **{"as": user.account_id})
            title = m.name.split(": ", 1)[-1]
            attrs = ' aria-current="page"' if m.key == current else ""
            html.append(
                f'<li><a href="{escape(href)}" data-module="{escape(m.key)}"{attrs}>'
                f"{escape(title)}</a></li>"
            )
        html.append("</ul>")
    return "".join(html)


def user_switcher(site: Site, user: User) -> str:
    options = []
    for person in site.users.values():
        if person.account_type != "atlassian":
            continue
        selected = " selected" if person.account_id == user.account_id else ""
        role = " (admin)" if "ADMINISTER" in person.global_permissions else ""
        options.append(
            f'<option value="{escape(person.account_id)}"{selected}>'
            f"{escape(person.display_name)}{role}</option>"
        )
    return (
        '<label class="switch-user">Signed in as '
        f'<select id="host-user">{"".join(options)}</select></label>'
    )


def _render_page(
    site: Site,
    installation: Installation,
    modules: list[PageModule],
    module: PageModule,
    user: User,
    iframe_url: str,
    config: dict[str, Any],
) -> str:
    app_name = str(installation.descriptor.get("name") or installation.app_key)
    title = module.name.split(": ", 1)[-1]
    nav = _nav(site, installation.app_key, modules, module.key, user)
    config_json = escape(json.dumps(config), quote=False).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - {escape(app_name)} - Jira</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{site.context_path}/_host/assets/host.css">
</head>
<body>
<header class="topbar">
  <span class="logo" aria-hidden="true"></span>
  <span class="product">Jira <small>sandbox · {escape(site.name)}</small></span>
  {user_switcher(site, user)}
</header>
<div class="layout">
  <nav class="sidebar" aria-label="{escape(app_name)}">
    <div class="app-name">{escape(app_name)}</div>
    {nav}
  </nav>
  <main class="content">
    <iframe id="app-frame" name="{escape(installation.app_key)}__{escape(module.key)}"
      title="{escape(title)}" src="{escape(iframe_url)}"></iframe>
  </main>
</div>
<div id="flags" class="flags" aria-live="polite"></div>
<div id="dialog-root"></div>
<script id="host-config" type="application/json">{config_json}</script>
<script src="{site.context_path}/_host/assets/host.js"></script>
</body>
</html>
"""


# --- assets ----------------------------------------------------------------------------------

_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _asset(name: str) -> Response:
    path = ASSETS / name
    return PlainTextResponse(
        path.read_text(encoding="utf-8"),
        media_type=_TYPES[path.suffix],
        headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/atlassian-connect/all.js")
async def all_js() -> Response:
    """What the app's iframe loads (W360_CONNECT_ALL_JS_URL in the demo)."""
    return _asset("all.js")


@router.get("/_host/assets/{name}")
async def host_asset(name: str) -> Response:
    if name not in ("host.js", "host.css", "forge-host.js"):
        raise not_found("No such file.")
    return _asset(name)


# --- the AP bridge's server side ------------------------------------------------------------


@router.post("/_host/token")
async def context_token(request: Request) -> JSONResponse:
    """`AP.context.getToken()`: a fresh context JWT for the signed-in user."""
    site = _site(request)
    user = session_user(site, request.headers.get(SESSION_HEADER))
    body = await request.json()
    app_key = str(body.get("appKey", "")) if isinstance(body, dict) else ""
    _installation(site, app_key)
    token = site.context_token(app_key, user.account_id)
    return JSONResponse({"token": token}, headers={"Cache-Control": "no-store"})


async def _user_call(request: Request) -> rest.JiraCall:
    """A REST call made by a person in the browser (AP.request): it acts as them."""
    site = _site(request)
    site.calls.record(request.method.upper(), "AP.request " + request.url.path)
    user = session_user(site, request.headers.get(SESSION_HEADER))
    app_key = request.headers.get("x-host-app", "")
    return rest.JiraCall(site, user.account_id, _installation(site, app_key))


def _user_rest_api() -> FastAPI:
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    api.include_router(rest.router)
    api.dependency_overrides[rest.jira_call] = _user_call

    @api.exception_handler(JiraApiError)
    async def jira_error(_: Request, error: JiraApiError) -> JSONResponse:
        return rest.jira_error_response(error)

    return api


class _AsUser:
    """`{site}/_host/rest/...` → the REST API at `{site}/rest/...`, as the signed-in user."""

    def __init__(self) -> None:
        self._api = _user_rest_api()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = dict(scope)
        scope["path"] = scope["path"].replace("/_host/rest/", "/rest/", 1)
        raw = scope.get("raw_path")
        if isinstance(raw, bytes):
            scope["raw_path"] = raw.replace(b"/_host/rest/", b"/rest/", 1)
        scope.pop("route", None)
        await self._api(scope, receive, send)


router.add_route(
    "/_host/rest/{path:path}",
    _AsUser(),  # type: ignore[arg-type]
    methods=["GET", "POST", "PUT", "DELETE"],
    include_in_schema=False,
)
