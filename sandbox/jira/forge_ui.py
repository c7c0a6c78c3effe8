"""The emulated Jira shows a Forge app's Custom UI, as Jira and Forge's hosting do.

Written from Forge's documentation (manifest-reference/modules/jira-global-page,
…/jira-admin-page, …/jira-issue-glance, custom-ui, custom-ui/iframe,
manifest-reference/permissions, apis-reference/ui-api-bridge/*), not from the app's code:

* **Jira's pages for the modules.** A global page at `{site}/jira/apps/{appId}/{envId}`, its
  subpages (`pages[].route`) appended to it (`…/{envId}/{route}`), shown in Jira's sidebar; an
  admin page at `{site}/jira/settings/apps/{appId}/{envId}`, or, with `useAsConfig`, at
  `{site}/jira/settings/apps/configure/{appId}/{envId}` (reached from Manage apps, not the
  sidebar); an issue glance on the issue view `{site}/browse/{issueKey}`, behind a button
  with its `label`. Around each: Jira's chrome and "Signed in as", as on the Connect pages
  (`host`).
* **Forge's CDN.** The module's resource folder (what `forge deploy` uploaded) is served from
  another origin than the site (`JiraSandbox.forge_cdn_url`), at
  `{cdn}/{appId}/{envId}/{resourceKey}/…`, in an iframe with the documented sandbox
  attributes (no `allow-popups`: the app opens windows through the bridge's router). Its
  `index.html` gets the bridge runtime injected first in `<head>`, as Forge's hosting does,
  so that `globalThis.__bridge` exists before the app's own scripts run. Every file carries
  Custom UI's content security policy: scripts and styles from the resource only (plus what
  the manifest's `permissions.content` adds), no fetches elsewhere, framed by Jira only.
* **The bridge.** The runtime (`host_assets/forge-bridge-runtime.js`) speaks to the Jira page
  (`host_assets/forge-host.js`) by postMessage, each side checking the other's window and
  origin. The page answers `getContext`, `createHistory` (the route and query of Jira's URL;
  push and replace change it), `navigate` (module targets to the URLs above; an external URL
  opens a new tab once the person agrees, else the call rejects), `showFlag`, `closeFlag`,
  `reload`, and asks this server for the two that leave the browser:
  - `invoke` (invokeRemote): `POST {site}/_forge/invoke`; the remote is called as Forge calls
    it (`ForgePlatform.invoke_remote`: a FIT for the signed-in person with `principal`,
    `context.cloudId`, `siteUrl`, the module and its extension, the system and user token
    headers; 25 s, no retries) and its answer held to the documented contract
    (`invoke_answer`);
  - `fetchProduct` (requestJira): `POST {site}/_forge/product`, Jira's REST API as the person,
    through the emulated api.atlassian.com with their user token.
"""

from __future__ import annotations

import json
import mimetypes
import re
import uuid
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.jira import forge, rest
from sandbox.jira.errors import JiraApiError, not_found
from sandbox.jira.forge import ForgeApp, ForgeUiModule
from sandbox.jira.host import (
    ASSETS,
    SESSION_HEADER,
    default_user,
    issue_session,
    session_user,
    user_switcher,
)
from sandbox.jira.models import User
from sandbox.jira.site import Site

if TYPE_CHECKING:
    from sandbox.jira.emulator import JiraSandbox

CDN_URL = "https://forge-cdn.jira-sandbox.test"
RUNTIME_PATH = "/_forge/bridge-runtime.js"
# custom-ui/iframe: "applied to the iframe by default and cannot be modified".
IFRAME_SANDBOX = (
    "allow-downloads allow-forms allow-modals allow-pointer-lock allow-same-origin allow-scripts"
)
IFRAME_ALLOW = "camera; clipboard-write; display-capture; fullscreen; microphone"
# invokeRemote's documented rejections.
FIT_REJECTED = "Remote could not verify the Forge Invocation Token"
NETWORK_ERROR = "Invalid response from remote - remote network error"
UNEXPECTED = "An unexpected error happened"
# permissions.content keywords, quoted in the CSP as CSP wants them.
_CSP_KEYWORDS = {"unsafe-inline", "unsafe-hashes", "unsafe-eval", "self", "none"}
_HASH_SOURCE = re.compile(r"^(sha256|sha384|sha512)-[A-Za-z0-9+/=]+$")
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)

router = APIRouter(include_in_schema=False)


# --- the answer of invokeRemote ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvokeAnswer:
    """What the bridge's `invoke` gets: the remote's answer (`payload`: status, headers as
    lists, parsed JSON body) or the message it rejects with."""

    payload: dict[str, Any] | None = None
    rejection: str | None = None

    def body(self) -> dict[str, Any]:
        if self.rejection is not None:
            return {"ok": False, "message": self.rejection}
        return {"ok": True, "payload": self.payload}


def invoke_answer(response: httpx.Response) -> InvokeAnswer:
    """The remote's HTTP answer held to invokeRemote's contract: 2xx resolves (a body is
    optional, JSON when there is one); other statuses resolve too, with their JSON body,
    except a 401 (Forge's own: the remote refused the FIT), a content type that is not
    JSON, or a body that is not JSON, which reject with the documented messages."""
    status = response.status_code
    if status == 401:
        return InvokeAnswer(rejection=FIT_REJECTED)
    content_type = response.headers.get("content-type")
    success = 200 <= status < 300
    json_type = (content_type or "").split(";", 1)[0].strip().lower() == "application/json"
    if not success and content_type is not None and not json_type:
        return InvokeAnswer(
            rejection=(
                "Invalid response from remote - content-type header must be set to "
                f"application/json and is currently: {content_type}. Status: {status}."
            )
        )
    body: Any = None
    if response.content or not success:
        try:
            body = json.loads(response.content)
        except ValueError:
            return InvokeAnswer(
                rejection=(
                    f"Invalid response from remote - cannot parse body as JSON. Status: {status}."
                )
            )
    headers: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        headers.setdefault(name.lower(), []).append(value)
    payload: dict[str, Any] = {"status": status, "headers": headers}
    if body is not None:
        payload["body"] = body
    return InvokeAnswer(payload=payload)


# --- URLs -------------------------------------------------------------------------------------


def module_path(site: Site, app: ForgeApp, module: ForgeUiModule) -> str:
    """Where Jira shows a page module (a glance has no page of its own: its issue's)."""
    ids = f"{app.uuid}/{app.environment_uuid}"
    if module.type == "jira:globalPage":
        return f"{site.context_path}/jira/apps/{ids}"
    if module.type == "jira:adminPage":
        kind = "configure/" if module.use_as_config else ""
        return f"{site.context_path}/jira/settings/apps/{kind}{ids}"
    raise ValueError(f"{module.type} modules have no page of their own")


def issue_path(site: Site, issue_key: str) -> str:
    return f"{site.context_path}/browse/{issue_key}"


def resource_url(
    sandbox: JiraSandbox, app: ForgeApp, resource: str, host_origin: str, path: str = "index.html"
) -> str:
    """A file of a Custom UI resource on Forge's CDN; `hostOrigin` is the Jira page framing it."""
    query = urlencode({"hostOrigin": host_origin})
    return f"{sandbox.forge_cdn_url}/{app.uuid}/{app.environment_uuid}/{resource}/{path}?{query}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(app: ForgeApp, host_origin: str) -> str:
    """Custom UI's CSP: scripts and assets from the resource only, no fetching elsewhere,
    framed by the Jira site only; `permissions.content.scripts|styles` add their sources."""

    def sources(extra: tuple[str, ...]) -> str:
        quoted = [f"'{s}'" if s in _CSP_KEYWORDS or _HASH_SOURCE.fullmatch(s) else s for s in extra]
        return " ".join(["'self'", *quoted])

    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {sources(app.content_scripts)}",
            f"style-src {sources(app.content_styles)}",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "media-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {host_origin}",
        ]
    )


def inject_runtime(html: str, host_origin: str) -> str:
    """The bridge runtime as the first script of the page, before anything of the app's."""
    tag = f'<script src="{RUNTIME_PATH}" data-host-origin="{escape(host_origin)}"></script>'
    match = _HEAD.search(html)
    if match is None:
        return tag + html
    return html[: match.end()] + tag + html[match.end() :]


# --- Forge's CDN ------------------------------------------------------------------------------


def cdn_app(sandbox: JiraSandbox) -> Starlette:
    """The CDN's own origin: the resources of deployed apps, and the bridge runtime."""

    async def runtime(_: StarletteRequest) -> Response:
        return PlainTextResponse(
            (ASSETS / "forge-bridge-runtime.js").read_text(encoding="utf-8"),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def resource_file(request: StarletteRequest) -> Response:
        params = request.path_params
        app = _app_by_ids(sandbox, str(params["app_uuid"]), str(params["env_uuid"]))
        folder = app.resources.get(str(params["resource"])) if app is not None else None
        if app is None or folder is None:
            return PlainTextResponse("No such resource.", status_code=404)
        relative = str(params["path"]) or "index.html"
        if relative.endswith("/"):
            relative += "index.html"
        root = folder.resolve()
        file = (root / relative).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            return PlainTextResponse("No such file.", status_code=404)
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if media_type == "text/html":
            # A page: shown framed by a Jira site that has the app, under Custom UI's CSP.
            host_origin = request.query_params.get("hostOrigin", "")
            allowed = {
                origin_of(i.site.base_url)
                for i in sandbox.forge.installations.values()
                if i.app is app
            }
            if host_origin not in allowed:
                return PlainTextResponse(
                    "This Custom UI is shown inside a Jira site that has the app installed.",
                    status_code=403,
                )
            headers["Content-Security-Policy"] = content_security_policy(app, host_origin)
            html = inject_runtime(file.read_text(encoding="utf-8"), host_origin)
            return HTMLResponse(html, headers=headers)
        if media_type.startswith("text/") or media_type.endswith(("javascript", "json", "+xml")):
            media_type += "; charset=utf-8"
        return Response(file.read_bytes(), media_type=media_type, headers=headers)

    return Starlette(
        routes=[
            Route(RUNTIME_PATH, runtime),
            Route("/{app_uuid}/{env_uuid}/{resource}/{path:path}", resource_file),
        ]
    )


def _app_by_ids(sandbox: JiraSandbox, app_uuid: str, env_uuid: str) -> ForgeApp | None:
    return next(
        (
            a
            for a in sandbox.forge.apps.values()
            if a.uuid == app_uuid and a.environment_uuid == env_uuid
        ),
        None,
    )


# --- Jira's pages -----------------------------------------------------------------------------


def _sandbox(request: Request) -> JiraSandbox:
    sandbox: JiraSandbox = request.app.state.sandbox
    return sandbox


def _site(request: Request) -> Site:
    site = request.scope.get(rest.SITE_SCOPE_KEY)
    if not isinstance(site, Site):
        raise not_found("No Jira site is served at this address.")
    return site


def _installed_app(request: Request, site: Site, app_uuid: str, env_uuid: str) -> ForgeApp:
    sandbox = _sandbox(request)
    app = _app_by_ids(sandbox, app_uuid, env_uuid)
    if app is None or sandbox.forge.installation(site, app) is None:
        raise not_found("This app is not installed on this site.")
    return app


def _user(request: Request, site: Site) -> User:
    chosen = request.query_params.get("as")
    return site.user(chosen) if chosen else default_user(site)


@dataclass(frozen=True, slots=True)
class _Frame:
    """One Custom UI iframe of a Jira page, and what its bridge is told."""

    module: ForgeUiModule
    src: str
    context: dict[str, Any]
    history_base: str | None = None

    def config(self) -> dict[str, Any]:
        return {
            "moduleKey": self.module.key,
            "moduleType": self.module.type,
            "context": self.context,
            "historyBase": self.history_base,
        }


def _context(
    site: Site, app: ForgeApp, user: User, module: ForgeUiModule, extension: dict[str, Any]
) -> dict[str, Any]:
    """`view.getContext()` as the bridge gives it (view, "getContext")."""
    return {
        "accountId": user.account_id,
        "cloudId": site.cloud_id,
        "extension": {"type": module.type, **extension},
        "localId": (
            f"ari:cloud:ecosystem::extension/{app.uuid}/{app.environment_uuid}/static/{module.key}"
        ),
        "locale": "en-US",
        "moduleKey": module.key,
        "siteUrl": site.base_url,
        "timezone": user.time_zone,
        "environmentId": app.environment_uuid,
        "environmentType": app.environment_type,
    }


def _page_config(
    request: Request,
    site: Site,
    app: ForgeApp,
    user: User,
    frames: list[_Frame],
    current: ForgeUiModule | None,
) -> dict[str, Any]:
    sandbox = _sandbox(request)
    modules = {
        m.key: module_path(site, app, m)
        for m in app.ui_modules
        if m.type in ("jira:globalPage", "jira:adminPage")
    }
    return {
        "appId": app.app_id,
        "siteBase": site.context_path,
        "session": issue_session(site, user.account_id),
        "accountId": user.account_id,
        "cdnOrigin": origin_of(sandbox.forge_cdn_url),
        "modules": modules,
        "issuePath": issue_path(site, "{issueKey}"),
        "current": current.key if current is not None else None,
        "frames": {f"forge-frame-{i}": frame.config() for i, frame in enumerate(frames)},
    }


def _nav(site: Site, app: ForgeApp, user: User, current: str | None, route: str | None) -> str:
    """Jira's sidebar: the global page and its subpages; the configure page, as Manage apps
    links to it (Jira shows a `useAsConfig` admin page only there)."""
    html = []
    who = urlencode({"as": user.account_id})
    for module in app.ui_modules_of("jira:globalPage"):
        base = module_path(site, app, module)
        html.append(
            '<h2 class="nav-heading">Apps</h2>'
            f'<div class="app-name">{escape(module.title)}</div><ul>'
        )
        pages = module.pages or (("", ""),)
        for title, page_route in pages:
            href = f"{base}/{page_route}?{who}" if page_route else f"{base}?{who}"
            on = module.key == current and (page_route == route or not module.pages)
            attrs = ' aria-current="page"' if on else ""
            html.append(
                f'<li><a href="{escape(href)}" data-module="{escape(module.key)}" '
                f'data-route="{escape(page_route)}"{attrs}>{escape(title or module.title)}</a></li>'
            )
        html.append("</ul>")
    admin = app.ui_modules_of("jira:adminPage")
    if admin:
        html.append('<h2 class="nav-heading">Apps administration</h2><ul>')
        for module in admin:
            href = f"{module_path(site, app, module)}?{who}"
            attrs = ' aria-current="page"' if module.key == current else ""
            label = f"Configure {app.name}" if module.use_as_config else module.title
            html.append(
                f'<li><a href="{escape(href)}" data-module="{escape(module.key)}"{attrs}>'
                f"{escape(label)}</a></li>"
            )
        html.append("</ul>")
    return "".join(html)


def _iframe(frame_id: str, frame: _Frame, title: str, *, lazy: bool = False) -> str:
    # A glance's frame loads when its panel opens (data-src), as Jira loads it then.
    source = "data-src" if lazy else "src"
    return (
        f'<iframe id="{frame_id}" class="forge-frame" title="{escape(title)}" '
        f'sandbox="{IFRAME_SANDBOX}" allow="{IFRAME_ALLOW}" {source}="{escape(frame.src)}">'
        "</iframe>"
    )


def _document(site: Site, user: User, title: str, body: str, config: dict[str, Any]) -> str:
    config_json = escape(json.dumps(config), quote=False).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - Jira</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{site.context_path}/_host/assets/host.css">
</head>
<body>
<header class="topbar">
  <span class="logo" aria-hidden="true"></span>
  <span class="product">Jira <small>sandbox · {escape(site.name)}</small></span>
  {user_switcher(site, user)}
</header>
{body}
<div id="flags" class="flags" aria-live="polite"></div>
<div id="dialog-root"></div>
<script id="forge-config" type="application/json">{config_json}</script>
<script src="{site.context_path}/_host/assets/forge-host.js"></script>
</body>
</html>
"""


def _page_response(
    request: Request, site: Site, app: ForgeApp, module: ForgeUiModule, route: str | None
) -> HTMLResponse:
    user = _user(request, site)
    sandbox = _sandbox(request)
    host_origin = origin_of(site.base_url)
    pages = dict((r, t) for t, r in module.pages)
    if route is not None and module.pages and route not in pages:
        raise not_found(f"{module.title} has no page '{route}'.")
    extension = {"location": str(request.url)}
    frame = _Frame(
        module=module,
        src=resource_url(sandbox, app, module.resource, host_origin),
        context=_context(site, app, user, module, extension),
        history_base=module_path(site, app, module),
    )
    title = pages.get(route or "", module.title) if route else module.title
    nav = _nav(site, app, user, module.key, route)
    body = f"""<div class="layout">
  <nav class="sidebar" aria-label="{escape(app.name)}">{nav}</nav>
  <main class="content">{_iframe("forge-frame-0", frame, title)}</main>
</div>"""
    config = _page_config(request, site, app, user, [frame], module)
    return HTMLResponse(
        _document(site, user, f"{title} - {module.title}", body, config),
        headers={"Cache-Control": "no-store"},
    )


def _module(app: ForgeApp, module_type: str, *, use_as_config: bool | None = None) -> ForgeUiModule:
    for module in app.ui_modules_of(module_type):
        if use_as_config is None or module.use_as_config == use_as_config:
            return module
    raise not_found("This app has no such page.")


@router.get("/jira/apps/{app_uuid}/{env_uuid}", response_class=HTMLResponse)
async def global_page(request: Request, app_uuid: str, env_uuid: str) -> HTMLResponse:
    site = _site(request)
    app = _installed_app(request, site, app_uuid, env_uuid)
    module = _module(app, "jira:globalPage")
    return _page_response(request, site, app, module, module.pages[0][1] if module.pages else None)


@router.get("/jira/apps/{app_uuid}/{env_uuid}/{route:path}", response_class=HTMLResponse)
async def global_subpage(
    request: Request, app_uuid: str, env_uuid: str, route: str
) -> HTMLResponse:
    site = _site(request)
    app = _installed_app(request, site, app_uuid, env_uuid)
    return _page_response(request, site, app, _module(app, "jira:globalPage"), route.strip("/"))


@router.get("/jira/settings/apps/configure/{app_uuid}/{env_uuid}", response_class=HTMLResponse)
async def configure_page(request: Request, app_uuid: str, env_uuid: str) -> HTMLResponse:
    site = _site(request)
    app = _installed_app(request, site, app_uuid, env_uuid)
    module = _module(app, "jira:adminPage", use_as_config=True)
    return _page_response(request, site, app, module, None)


@router.get("/jira/settings/apps/{app_uuid}/{env_uuid}", response_class=HTMLResponse)
async def admin_page(request: Request, app_uuid: str, env_uuid: str) -> HTMLResponse:
    site = _site(request)
    app = _installed_app(request, site, app_uuid, env_uuid)
    module = _module(app, "jira:adminPage", use_as_config=False)
    return _page_response(request, site, app, module, None)


@router.get("/browse/{issue_key}", response_class=HTMLResponse)
async def issue_view(request: Request, issue_key: str) -> HTMLResponse:
    """The issue view, with the issue glances of the Forge apps installed on the site."""
    site = _site(request)
    sandbox = _sandbox(request)
    try:
        issue = site.issue(issue_key)
    except JiraApiError as exc:
        raise not_found(f"Issue {issue_key} does not exist.") from exc
    project = site.projects[issue.project_id]
    user = _user(request, site)
    host_origin = origin_of(site.base_url)
    frames: list[_Frame] = []
    apps = [i.app for i in sandbox.forge.installations.values() if i.site is site]
    glances = []
    for app in apps:
        for module in app.ui_modules_of("jira:issueGlance"):
            extension = {
                "issue": {"id": issue.id, "key": issue.key, "type": "Task", "typeId": "10001"},
                "project": {"id": project.id, "key": project.key, "type": "software"},
            }
            frame = _Frame(
                module=module,
                src=resource_url(sandbox, app, module.resource, host_origin),
                context=_context(site, app, user, module, extension),
            )
            frame_id = f"forge-frame-{len(frames)}"
            frames.append(frame)
            glances.append(
                f'<section class="glance"><button type="button" class="glance-button" '
                f'aria-expanded="false" aria-controls="{frame_id}-panel" data-frame="{frame_id}">'
                f'<span class="glance-title">{escape(module.title)}</span> '
                f"{escape(module.label or module.title)}</button>"
                f'<div class="glance-panel" id="{frame_id}-panel" hidden>'
                f"{_iframe(frame_id, frame, module.title, lazy=True)}</div></section>"
            )
    body = f"""<div class="layout issue-view">
  <main class="content issue">
    <p class="breadcrumbs">{escape(project.name)} / {escape(issue.key)}</p>
    <h1 id="issue-summary">{escape(issue.summary)}</h1>
  </main>
  <aside class="issue-side" aria-label="Details">{"".join(glances)}</aside>
</div>"""
    first = apps[0] if apps else None
    config = (
        _page_config(request, site, first, user, frames, None)
        if first is not None
        else {"frames": {}, "siteBase": site.context_path}
    )
    return HTMLResponse(
        _document(site, user, f"{issue.key} {issue.summary}", body, config),
        headers={"Cache-Control": "no-store"},
    )


# --- the bridge's server side -----------------------------------------------------------------


async def _bridge_call(request: Request) -> tuple[Site, User, ForgeApp, dict[str, Any]]:
    site = _site(request)
    user = session_user(site, request.headers.get(SESSION_HEADER))
    body = await request.json()
    if not isinstance(body, dict):
        raise JiraApiError(400, "The bridge call's body is a JSON object.")
    app = _sandbox(request).forge.apps.get(str(body.get("appId", "")))
    if app is None or _sandbox(request).forge.installation(site, app) is None:
        raise not_found("This app is not installed on this site.")
    return site, user, app, body


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@router.post("/_forge/invoke")
async def invoke(request: Request) -> JSONResponse:
    """invokeRemote from a module's iframe: Forge calls the remote, holds the answer to the
    contract and hands it back (or the message the bridge rejects with)."""
    site, user, app, body = await _bridge_call(request)
    module = app.ui_module(str(body.get("moduleKey", "")))
    if module is None:
        raise JiraApiError(400, "This module is not in the app's manifest.")
    given = _object(body.get("input"))
    path = str(given.get("path", ""))
    method = str(given.get("method", "GET")).upper()
    if not path.startswith("/") or method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        return JSONResponse(InvokeAnswer(rejection=UNEXPECTED).body())
    extension = _object(body.get("extension"))
    headers = _object(given.get("headers"))
    try:
        response = await _sandbox(request).forge.invoke_remote(
            site,
            app,
            user.account_id,
            method,
            path,
            json_body=given.get("body"),
            headers={str(k): str(v) for k, v in headers.items()},
            module_key=module.key,
            module_type=module.type,
            extension={**extension, "type": module.type},
            local_id=str(body.get("localId") or uuid.uuid4()),
        )
    except httpx.TimeoutException:
        answer = InvokeAnswer(
            rejection=f"Remote invocation timed out after {forge.UI_TIMEOUT_SECONDS:g} seconds"
        )
    except httpx.HTTPError:
        answer = InvokeAnswer(rejection=NETWORK_ERROR)
    else:
        answer = invoke_answer(response)
    return JSONResponse(answer.body(), headers={"Cache-Control": "no-store"})


@router.post("/_forge/product")
async def fetch_product(request: Request) -> JSONResponse:
    """requestJira: Jira's REST API as the signed-in person, through api.atlassian.com with
    the user token Forge holds for them."""
    site, user, app, body = await _bridge_call(request)
    sandbox = _sandbox(request)
    rest_path = str(body.get("restPath", ""))
    if str(body.get("product", "jira")) != "jira" or not rest_path.startswith("/rest/"):
        raise JiraApiError(400, "requestJira takes a Jira REST path such as /rest/api/3/myself.")
    init = _object(body.get("init"))
    method = str(init.get("method") or "GET").upper()
    headers = {
        str(k): str(v)
        for k, v in (init.get("headers") or [])
        if str(k).lower() not in ("authorization", "host", "content-length")
    }
    headers["Authorization"] = f"Bearer {sandbox.forge.user_token(site, app, user.account_id)}"
    content = init.get("body")
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=sandbox.gateway_url) as client:
        answer = await client.request(
            method,
            f"/ex/jira/{site.cloud_id}{rest_path}",
            headers=headers,
            content=content.encode("utf-8") if isinstance(content, str) else None,
        )
    return JSONResponse(
        {
            "status": answer.status_code,
            "statusText": answer.reason_phrase,
            "headers": dict(answer.headers),
            "body": answer.text,
            "isAttachment": False,
        },
        headers={"Cache-Control": "no-store"},
    )
