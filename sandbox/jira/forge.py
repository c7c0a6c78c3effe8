"""Forge's side of the emulated Jira: what a Forge Remote (this app's `/forge/…` endpoints and
its `/api` behind `invokeRemote`) receives from Atlassian.

Written from Forge's documentation (remote/essentials, remote/sending-product-events,
events-reference/life-cycle, manifest-reference/modules/pre-uninstall-trigger), not from the
app's code:

* **Keys.** Forge signs Forge Invocation Tokens (FIT) with RSA keys published as a JWKS at
  `https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json`; this emulator serves its
  own keys at that path (any host; `forge.cdn.<label>.isolated-cloud.test` for an Isolated
  Cloud label) and counts the requests. Keys rotate (`ForgeKeyRing.rotate`) and retire.
* **FITs.** RS256, `iss` `forge/invocation-token`, `aud` = `app.id`, `iat` = `nbf`,
  `exp` = `iat` + 25 s, `jti`; `app{id, appVersion, installationId, apiBaseUrl,
  installation{id, contexts[{name, apiBaseUrl, cloudId}]}, environment{type, id},
  module{type, key}}`. A UI call adds `principal` and `context{localId, cloudId, moduleKey,
  siteUrl, extension}`; events, lifecycle events and triggers have neither and come from
  module type `core:endpoint`. (`app.version` was removed on 24 Sep 2025: not sent.)
* **Deliveries.** Lifecycle events (`avi:forge:installed:app`, `avi:forge:upgraded:app`)
  are POSTed to the remote with a fresh FIT, the app system token in
  `x-forge-oauth-system` (when the endpoint asks for it) and `x-b3-*` trace headers; a
  non-2xx answer is retried 4 times, 60 s apart, each with a new FIT and `retryContext` in
  the body. `preUninstall` is one POST (uninstalling goes on whatever it answers).
  The payloads are the documented ones; `eventType` and `context{cloudId, moduleKey}` are
  added as Forge does for product events (the remote pages do not show a lifecycle body).
* **Reinstalling** gives a new `installationId`; the site's `cloudId` never changes.
* **The API gateway.** `https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3/…` serves the
  same site as its own URL does, to `Authorization: Bearer <token>` with a token this
  emulator issued: the app system token acts as the app's bot user (an `app` account made
  at the first install), a user token as its person. An expired, unknown or revoked token
  (the installation is gone) answers 401 `{"code": 401, "message": "Unauthorized"}`, the
  gateway's own body rather than Jira's.
* **Product events.** A Forge app's `trigger` for `avi:jira:{created,updated,deleted}:worklog`
  and `avi:jira:deleted:issue` gets them queued in `events` (an inspectable outbox, like the
  Connect webhooks': tests deliver, drop, duplicate and reorder them, and deliver some later
  than others, since Forge says events may come up to 3 minutes late and more than once).
  Delivery is a POST to the remote's events route with a fresh FIT, the system token and
  4 retries 60 s apart on a non-2xx or a timeout (the injected `sleep`). The body is the
  documented payload (`eventType`, `selfGenerated`, `worklog` or `issue`, and the common
  `timestamp`, a string of epoch milliseconds) plus `context{cloudId, moduleKey}`. The
  reference names the payload's `Worklog` and `Issue` types without listing them here; this
  emulator sends the worklog's ids, times and seconds, people as `{accountId}` only (as every
  Forge event's `User` type), and no comment: a remote should rely on the ids alone.
* **Scheduled triggers** (`run_scheduled`): a POST to the remote's scheduled route with a FIT
  and the system token (never a user token), retried like events; Forge may run one twice.

Tests mint bad tokens with `mint` (any claims, header, key) to check the app refuses them.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.jira.errors import JiraApiError
from sandbox.jira.formats import jira_datetime, time_spent_text

if TYPE_CHECKING:
    from sandbox.jira.emulator import JiraSandbox
    from sandbox.jira.models import Issue, Worklog
    from sandbox.jira.site import Site

JWKS_HOST = "forge.cdn.prod.atlassian-dev.net"
JWKS_PATH = "/.well-known/jwks.json"
JWKS_URL = f"https://{JWKS_HOST}{JWKS_PATH}"
# The real Isolated Cloud template is handed out when an app is onboarded to one; this is
# the emulator's, of the documented shape (`{IC_LABEL}` in the host).
IC_JWKS_URL_TEMPLATE = "https://forge.cdn.{IC_LABEL}.isolated-cloud.test/.well-known/jwks.json"
_IC_HOST_PREFIX, _IC_HOST_SUFFIX = "forge.cdn.", ".isolated-cloud.test"
API_GATEWAY = "https://api.atlassian.com"
FIT_ISSUER = "forge/invocation-token"
FIT_LIFETIME_SECONDS = 25
SYSTEM_TOKEN_LIFETIME_SECONDS = 4 * 3600
EVENT_RETRIES = 4
EVENT_RETRY_DELAY_SECONDS = 60.0
EVENT_TIMEOUT_SECONDS = 5.0
UI_TIMEOUT_SECONDS = 25.0
PRE_UNINSTALL_TIMEOUT_SECONDS = 55.0
TRIGGER_MODULE_TYPE = "core:endpoint"
INSTALLED = "avi:forge:installed:app"
UPGRADED = "avi:forge:upgraded:app"
WORKLOG_CREATED = "avi:jira:created:worklog"
WORKLOG_UPDATED = "avi:jira:updated:worklog"
WORKLOG_DELETED = "avi:jira:deleted:worklog"
ISSUE_DELETED = "avi:jira:deleted:issue"
GATEWAY_HOST = "api.atlassian.com"
GATEWAY_JIRA_PREFIX = "/ex/jira/"

router = APIRouter()


class ForgeKeyRing:
    """The RSA keys Forge signs FITs with. A key is made on first use (key generation is
    slow); `rotate` adds one under a new kid and signs with it from then on; old keys stay
    published until `retire`d."""

    def __init__(self, key_size: int = 2048) -> None:
        self._key_size = key_size
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._current: str | None = None

    @property
    def current_kid(self) -> str:
        if self._current is None:
            self.rotate()
        assert self._current is not None
        return self._current

    def rotate(self) -> str:
        kid = f"forge/invocation-token/{uuid.uuid4()}"
        self._keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=self._key_size)
        self._current = kid
        return kid

    def retire(self, kid: str) -> None:
        if kid == self._current:
            raise ValueError("rotate before retiring the current key")
        self._keys.pop(kid, None)

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def private_key(self, kid: str | None = None) -> rsa.RSAPrivateKey:
        return self._keys[kid or self.current_kid]

    def public_pem(self, kid: str | None = None) -> bytes:
        return (
            self.private_key(kid)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self._keys.items():
            numbers = key.public_key().public_numbers()
            keys.append(
                {
                    "kty": "RSA",
                    "kid": kid,
                    "use": "sig",
                    "alg": "RS256",
                    "n": _b64uint(numbers.n),
                    "e": _b64uint(numbers.e),
                }
            )
        return {"keys": keys}


UI_MODULE_TYPES = ("jira:globalPage", "jira:adminPage", "jira:issueGlance", "jira:issuePanel")


@dataclass(frozen=True, slots=True)
class ForgeUiModule:
    """A Custom UI module of the manifest: where Jira shows it and which resource it shows.
    `pages` are a global (or admin) page's subpages, `(title, route)`."""

    type: str
    key: str
    title: str
    resource: str
    pages: tuple[tuple[str, str], ...] = ()
    use_as_config: bool = False
    label: str | None = None


@dataclass(slots=True)
class ForgeApp:
    """A registered Forge app whose endpoints are a remote (manifest `remotes` +
    `endpoint`s). `connect_key` is manifest `app.connect.key`: a Connect app adopted into
    Forge, whose Connect lifecycle payloads then carry the Forge `installationId`."""

    app_id: str
    remote_base_url: str
    name: str = "Worklog360"
    app_version: str = "1.0.0"
    lifecycle_path: str | None = "/forge/lifecycle"
    uninstall_path: str | None = "/forge/uninstall"
    events_path: str | None = "/forge/events"
    scheduled_path: str | None = "/forge/scheduled"
    events: tuple[str, ...] = (WORKLOG_CREATED, WORKLOG_UPDATED, WORKLOG_DELETED, ISSUE_DELETED)
    app_system_token: bool = True
    app_user_token: bool = True
    environment_type: str = "PRODUCTION"
    environment_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    owner_account_id: str = field(default_factory=lambda: f"712020:{uuid.uuid4()}")
    connect_key: str | None = None
    lifecycle_module_key: str = "wl-life"
    uninstall_module_key: str = "wl-uninstall"
    events_module_key: str = "wl-worklogs"
    scheduled_module_key: str = "wl-hourly"
    ui_module_key: str = "wl-global"
    ui_module_type: str = "jira:globalPage"
    scopes: tuple[str, ...] = (
        "read:app-system-token",
        "read:app-user-token",
        "read:jira-work",
        "write:jira-work",
        "read:jira-user",
    )
    # What `forge deploy` uploads: the Custom UI modules, each resource's folder (Atlassian
    # hosts them, see `forge_ui`), and the manifest's `permissions.content` CSP additions.
    ui_modules: tuple[ForgeUiModule, ...] = ()
    resources: dict[str, Path] = field(default_factory=dict)
    content_scripts: tuple[str, ...] = ()
    content_styles: tuple[str, ...] = ()

    @property
    def uuid(self) -> str:
        return self.app_id.rsplit("/", 1)[-1]

    def ui_module(self, key: str) -> ForgeUiModule | None:
        return next((m for m in self.ui_modules if m.key == key), None)

    def ui_modules_of(self, module_type: str) -> list[ForgeUiModule]:
        return [m for m in self.ui_modules if m.type == module_type]

    @property
    def environment_id(self) -> str:
        return f"ari:cloud:ecosystem::environment/{self.uuid}/{self.environment_uuid}"


@dataclass(slots=True)
class ForgeInstallation:
    """One install of a Forge app on a site; a reinstall is a new one, with a new id."""

    app: ForgeApp
    site: Site
    installation_id: str
    app_version: str
    installer_account_id: str | None
    app_user_id: str = ""
    installed: bool = True
    system_tokens: list[str] = field(default_factory=list)

    @property
    def uuid(self) -> str:
        return self.installation_id.rsplit("/", 1)[-1]


@dataclass(slots=True)
class ForgeRequest:
    """One HTTP request Forge would send the remote, built (and signed) but not sent."""

    event: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]

    def content(self) -> bytes:
        return json.dumps(self.body).encode("utf-8")


@dataclass(slots=True)
class ForgeEvent:
    """A product event queued for one installation, not yet delivered."""

    id: int
    installation: ForgeInstallation
    event: str
    payload: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "event": self.event, "payload": self.payload}


class GatewayError(JiraApiError):
    """What api.atlassian.com itself answers (not Jira's error shape)."""

    def body(self) -> dict[str, object]:
        return {"code": self.status, "message": self.messages[0] if self.messages else ""}


@dataclass(slots=True)
class ForgeAttempt:
    status_code: int | None
    error: str | None


@dataclass(slots=True)
class ForgeDelivery:
    event: str
    url: str
    attempts: list[ForgeAttempt] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return bool(self.attempts) and _succeeded(self.attempts[-1].status_code)


def _succeeded(status: int | None) -> bool:
    # Forge treats 3xx as an error too (remote/essentials, "Errors").
    return status is not None and 200 <= status < 300


class ForgePlatform:
    """`sandbox.forge`: apps, installations, keys, FITs and deliveries."""

    def __init__(self, sandbox: JiraSandbox, *, keys: ForgeKeyRing | None = None) -> None:
        self._sandbox = sandbox
        self.keys = keys if keys is not None else ForgeKeyRing()
        self.isolated_clouds: dict[str, ForgeKeyRing] = {}
        self.apps: dict[str, ForgeApp] = {}
        self.installations: dict[tuple[str, str], ForgeInstallation] = {}
        self.history: list[ForgeInstallation] = []
        self.deliveries: list[ForgeDelivery] = []
        self.jwks_requests: Counter[str] = Counter()
        self.jwks_unavailable = False  # the CDN answering 503, for tests
        self.retry_delays: list[float] = []
        self.sleep: Callable[[float], Awaitable[Any]] = sandbox.sleep
        self._token_secret = secrets.token_bytes(32)  # signs the emulated OAuth tokens
        # The app's bot user on each site, by (site name, app id): made at the first install,
        # kept across reinstalls.
        self.app_users: dict[tuple[str, str], str] = {}
        self.events: list[ForgeEvent] = []
        self._event_ids = itertools.count(1)
        self._background: set[asyncio.Task[Any]] = set()

    def _now(self) -> int:
        return int(self._sandbox.token_clock())

    # --- apps and installs -------------------------------------------------------------------

    def register_app(
        self, remote_base_url: str, *, app_id: str | None = None, **options: Any
    ) -> ForgeApp:
        app = ForgeApp(
            app_id=app_id or f"ari:cloud:ecosystem::app/{uuid.uuid4()}",
            remote_base_url=remote_base_url.rstrip("/"),
            **options,
        )
        self.apps[app.app_id] = app
        return app

    def deploy(self, folder: Path, **options: Any) -> ForgeApp:
        """`forge deploy` of an app folder: its `manifest.yml` (app id, remote, endpoints,
        triggers, Custom UI modules, scopes, CSP) and its resources. Deploying the same app
        again replaces its definition; installations stay."""
        manifest = yaml.safe_load((folder / "manifest.yml").read_text(encoding="utf-8"))
        fields = app_fields_from_manifest(manifest, folder)
        fields.update(options)
        existing = self.apps.get(fields["app_id"])
        if existing is not None:
            for name, value in fields.items():
                setattr(existing, name, value)
            return existing
        return self.register_app(fields.pop("remote_base_url"), **fields)

    def installation(self, site: Site, app: ForgeApp) -> ForgeInstallation | None:
        return self.installations.get((site.name, app.app_id))

    def linked_installation_id(self, site: Site, connect_key: str) -> str | None:
        """The installationId Jira adds to a Connect app's lifecycle payload when the app
        was adopted into Forge (its Forge app names it as `app.connect.key`)."""
        for installation in self.installations.values():
            if installation.site is site and installation.app.connect_key == connect_key:
                return installation.installation_id
        return None

    def new_installation(
        self, site: Site, app: ForgeApp, *, installer_account_id: str | None = None
    ) -> ForgeInstallation:
        """Record an install (a new installationId) without telling the remote."""
        if self.installation(site, app) is not None:
            raise ValueError(f"{app.name} is already installed on {site.name}")
        installation = ForgeInstallation(
            app=app,
            site=site,
            installation_id=f"ari:cloud:ecosystem::installation/{uuid.uuid4()}",
            app_version=app.app_version,
            installer_account_id=installer_account_id,
            app_user_id=self._app_user(site, app),
        )
        self.installations[(site.name, app.app_id)] = installation
        self.history.append(installation)
        return installation

    async def install(
        self, site: Site, app: ForgeApp, *, installer_account_id: str | None = None
    ) -> ForgeInstallation:
        """Install, then deliver `avi:forge:installed:app` (retried on failure). The install
        stands whatever the remote answers, as on Forge."""
        installation = self.new_installation(site, app, installer_account_id=installer_account_id)
        if app.lifecycle_path:
            await self.deliver(lambda retry: self.lifecycle_request(installation, INSTALLED, retry))
        return installation

    async def upgrade(
        self, site: Site, app: ForgeApp, app_version: str, *, upgrader_account_id: str | None = None
    ) -> ForgeDelivery | None:
        """A major version upgrade (minor and patch upgrades send no event)."""
        installation = self._installed(site, app)
        installation.app_version = app_version
        if not app.lifecycle_path:
            return None
        return await self.deliver(
            lambda retry: self.lifecycle_request(
                installation, UPGRADED, retry, actor_account_id=upgrader_account_id
            )
        )

    async def uninstall(self, site: Site, app: ForgeApp) -> ForgeDelivery | None:
        """`preUninstall` once (55 s, no retries: uninstalling goes on regardless), then
        the installation and its tokens are gone."""
        installation = self._installed(site, app)
        delivery = None
        if app.uninstall_path:
            delivery = await self.deliver(
                lambda _retry: self.pre_uninstall_request(installation),
                retries=0,
                timeout=PRE_UNINSTALL_TIMEOUT_SECONDS,
            )
        installation.installed = False
        installation.system_tokens.clear()
        del self.installations[(site.name, app.app_id)]
        return delivery

    def _app_user(self, site: Site, app: ForgeApp) -> str:
        account_id = self.app_users.get((site.name, app.app_id))
        if account_id is None:
            account_id = f"557058:{uuid.uuid4()}"
            site.add_user(app.name, account_id=account_id, account_type="app")
            self.app_users[(site.name, app.app_id)] = account_id
        return account_id

    def _installed(self, site: Site, app: ForgeApp) -> ForgeInstallation:
        installation = self.installation(site, app)
        if installation is None:
            raise KeyError(f"{app.name} is not installed on {site.name}")
        return installation

    # --- tokens ------------------------------------------------------------------------------

    def key_ring(self, ic_label: str | None = None) -> ForgeKeyRing:
        if ic_label is None:
            return self.keys
        return self.isolated_clouds.setdefault(ic_label, ForgeKeyRing())

    def invocation_claims(
        self,
        installation: ForgeInstallation,
        *,
        account_id: str | None = None,
        module_type: str = TRIGGER_MODULE_TYPE,
        module_key: str | None = None,
        ui: bool = False,
        ic_label: str | None = None,
        extension: dict[str, Any] | None = None,
        local_id: str | None = None,
    ) -> dict[str, Any]:
        app, site = installation.app, installation.site
        now = self._now()
        claims: dict[str, Any] = {
            "app": {
                "id": app.app_id,
                "appVersion": installation.app_version,
                "installationId": installation.installation_id,
                "apiBaseUrl": site.api_base_url,
                "installation": {
                    "id": installation.installation_id,
                    "contexts": [
                        {"name": "jira", "apiBaseUrl": site.api_base_url, "cloudId": site.cloud_id}
                    ],
                },
                "environment": {"type": app.environment_type, "id": app.environment_id},
                "module": {"type": module_type, "key": module_key or app.lifecycle_module_key},
            },
            "aud": app.app_id,
            "iss": FIT_ISSUER,
            "iat": now,
            "nbf": now,
            "exp": now + FIT_LIFETIME_SECONDS,
            "jti": secrets.token_hex(20),
        }
        if ui:
            claims["context"] = {
                "localId": local_id or str(uuid.uuid4()),
                "cloudId": site.cloud_id,
                "moduleKey": module_key or app.ui_module_key,
                "siteUrl": site.base_url,
                "extension": extension or {"type": module_type},
            }
            if account_id is not None:
                claims["principal"] = account_id
        if ic_label is not None:
            claims["icLabel"] = ic_label
        return claims

    def mint(
        self,
        claims: dict[str, Any],
        *,
        kid: str | None = None,
        ic_label: str | None = None,
        private_key: Any = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Sign `claims` as Forge would (or with `private_key`/`kid` of a test's choosing)."""
        ring = self.key_ring(ic_label)
        kid = kid or ring.current_kid
        key = private_key if private_key is not None else ring.private_key(kid)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, **(headers or {})})

    def ui_token(
        self,
        site: Site,
        app: ForgeApp,
        account_id: str | None,
        *,
        module_key: str | None = None,
        ic_label: str | None = None,
        module_type: str | None = None,
        extension: dict[str, Any] | None = None,
        local_id: str | None = None,
    ) -> str:
        """The FIT of a UI module's `invokeRemote` call by `account_id`."""
        installation = self._installed(site, app)
        claims = self.invocation_claims(
            installation,
            account_id=account_id,
            module_type=module_type or app.ui_module_type,
            module_key=module_key or app.ui_module_key,
            ui=True,
            ic_label=ic_label,
            extension=extension,
            local_id=local_id,
        )
        return self.mint(claims, ic_label=ic_label)

    def trigger_token(
        self, installation: ForgeInstallation, *, module_key: str | None = None
    ) -> str:
        return self.mint(self.invocation_claims(installation, module_key=module_key))

    def system_token(self, installation: ForgeInstallation) -> str:
        """An app system token: opaque to the remote but for its JWT `exp`. Forge caches
        them, so the newest one still valid for 2 hours is delivered again."""
        now = self._now()
        for token in reversed(installation.system_tokens):
            if _exp(token) - now >= 2 * 3600:
                return token
        claims = {
            "iss": "https://auth.atlassian.com",
            "aud": "api.atlassian.com",
            "sub": f"app:{installation.app.uuid}",
            "https://id.atlassian.com/installation": installation.installation_id,
            "iat": now,
            "exp": now + SYSTEM_TOKEN_LIFETIME_SECONDS,
            "jti": secrets.token_hex(16),
        }
        token = jwt.encode(claims, self._token_secret, algorithm="HS256")
        installation.system_tokens.append(token)
        return token

    # --- requests to the remote --------------------------------------------------------------

    def _headers(
        self,
        fit: str,
        installation: ForgeInstallation,
        *,
        system: bool,
        user_token: str | None = None,
    ) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {fit}",
            "Content-Type": "application/json",
            "x-b3-traceid": secrets.token_hex(8),
            "x-b3-spanid": secrets.token_hex(8),
        }
        if system:
            headers["x-forge-oauth-system"] = self.system_token(installation)
        if user_token:
            headers["x-forge-oauth-user"] = user_token
        return headers

    def lifecycle_request(
        self,
        installation: ForgeInstallation,
        event: str,
        retry: dict[str, Any] | None = None,
        *,
        actor_account_id: str | None = None,
    ) -> ForgeRequest:
        app, site = installation.app, installation.site
        assert app.lifecycle_path
        body: dict[str, Any] = {
            "eventType": event,
            "id": installation.uuid,
            "app": {
                "id": app.uuid,
                "version": installation.app_version,
                "name": app.name,
                "ownerAccountId": app.owner_account_id,
            },
            "environment": {"id": app.environment_uuid},
            "context": {"cloudId": site.cloud_id, "moduleKey": app.lifecycle_module_key},
        }
        if event == INSTALLED and installation.installer_account_id:
            body["installerAccountId"] = installation.installer_account_id
        if event == UPGRADED:
            if actor_account_id:
                body["upgraderAccountId"] = actor_account_id
            body["permissions"] = {"scopes": list(app.scopes)}
        if retry is not None:
            body["retryContext"] = retry
        fit = self.trigger_token(installation, module_key=app.lifecycle_module_key)
        return ForgeRequest(
            event=event,
            url=app.remote_base_url + app.lifecycle_path,
            headers=self._headers(fit, installation, system=app.app_system_token),
            body=body,
        )

    def pre_uninstall_request(self, installation: ForgeInstallation) -> ForgeRequest:
        app, site = installation.app, installation.site
        assert app.uninstall_path
        body = {
            "context": {"cloudId": site.cloud_id, "moduleKey": app.uninstall_module_key},
            "contextToken": secrets.token_urlsafe(48),  # "no meaning to an app"
        }
        fit = self.trigger_token(installation, module_key=app.uninstall_module_key)
        return ForgeRequest(
            event="preUninstall",
            url=app.remote_base_url + app.uninstall_path,
            headers=self._headers(fit, installation, system=app.app_system_token),
            body=body,
        )

    async def send(
        self,
        request: ForgeRequest,
        *,
        timeout: float = EVENT_TIMEOUT_SECONDS,  # noqa: ASYNC109
    ) -> httpx.Response:
        return await self._sandbox.http.post(
            request.url, content=request.content(), headers=request.headers, timeout=timeout
        )

    async def deliver(
        self,
        build: Callable[[dict[str, Any] | None], ForgeRequest],
        *,
        retries: int = EVENT_RETRIES,
        timeout: float = EVENT_TIMEOUT_SECONDS,  # noqa: ASYNC109 - httpx's, per request
    ) -> ForgeDelivery:
        """Send, and on a non-2xx answer or a timeout retry `retries` times, 60 s apart,
        each time with a fresh FIT and `retryContext`."""
        retry: dict[str, Any] | None = None
        delivery: ForgeDelivery | None = None
        for attempt in range(retries + 1):
            request = build(retry)
            if delivery is None:
                delivery = ForgeDelivery(event=request.event, url=request.url)
                self.deliveries.append(delivery)
            try:
                response = await self.send(request, timeout=timeout)
            except httpx.TimeoutException:
                delivery.attempts.append(ForgeAttempt(None, "timeout"))
                reason = "TIMEOUT_ERROR"
            except httpx.HTTPError as exc:
                delivery.attempts.append(ForgeAttempt(None, type(exc).__name__))
                reason = "INVALID_REMOTE_INVOCATION_ERROR"
            else:
                delivery.attempts.append(ForgeAttempt(response.status_code, None))
                if _succeeded(response.status_code):
                    break
                reason = (
                    "INVALID_FORGE_INVOCATION_TOKEN"
                    if response.status_code == 401
                    else "INVALID_REMOTE_INVOCATION_ERROR"
                )
            if attempt < retries:
                self.retry_delays.append(EVENT_RETRY_DELAY_SECONDS)
                await self.sleep(EVENT_RETRY_DELAY_SECONDS)
                retry = {"retryCount": attempt + 1, "retryReason": reason, "retryData": None}
        assert delivery is not None
        return delivery

    def ui_request(
        self,
        site: Site,
        app: ForgeApp,
        account_id: str | None,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        module_key: str | None = None,
        module_type: str | None = None,
        extension: dict[str, Any] | None = None,
        local_id: str | None = None,
    ) -> tuple[str, str, dict[str, str], bytes | None]:
        """What `invokeRemote({path, method, body})` from a UI module sends the remote."""
        installation = self._installed(site, app)
        fit = self.ui_token(
            site,
            app,
            account_id,
            module_key=module_key,
            module_type=module_type,
            extension=extension,
            local_id=local_id,
        )
        user_token = None
        if app.app_user_token and account_id is not None:
            user_token = self._user_token(installation, account_id)
        request_headers = self._headers(
            fit, installation, system=app.app_system_token, user_token=user_token
        )
        # The app's own headers go along; Forge's are Forge's to set.
        for name, value in (headers or {}).items():
            if name.lower() not in _FORGE_HEADERS:
                request_headers[name] = value
        content = json.dumps(json_body).encode("utf-8") if json_body is not None else None
        return method.upper(), app.remote_base_url + path, request_headers, content

    async def invoke_remote(
        self,
        site: Site,
        app: ForgeApp,
        account_id: str | None,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        module_key: str | None = None,
        module_type: str | None = None,
        extension: dict[str, Any] | None = None,
        local_id: str | None = None,
    ) -> httpx.Response:
        """A UI call through the bridge: 25 s, no retries, the remote's answer as is."""
        method, url, request_headers, content = self.ui_request(
            site,
            app,
            account_id,
            method,
            path,
            json_body=json_body,
            headers=headers,
            module_key=module_key,
            module_type=module_type,
            extension=extension,
            local_id=local_id,
        )
        return await self._sandbox.http.request(
            method, url, content=content, headers=request_headers, timeout=UI_TIMEOUT_SECONDS
        )

    def _user_token(self, installation: ForgeInstallation, account_id: str) -> str:
        now = self._now()
        claims = {
            "iss": "https://auth.atlassian.com",
            "aud": "api.atlassian.com",
            "sub": account_id,
            "https://id.atlassian.com/installation": installation.installation_id,
            "iat": now,
            "exp": now + SYSTEM_TOKEN_LIFETIME_SECONDS,
            "jti": secrets.token_hex(16),
        }
        return jwt.encode(claims, self._token_secret, algorithm="HS256")

    # --- the API gateway ---------------------------------------------------------------------

    def site_by_cloud_id(self, cloud_id: str) -> Site | None:
        return next((s for s in self._sandbox.sites.values() if s.cloud_id == cloud_id), None)

    def gateway_account(self, site: Site, authorization: str | None) -> str:
        """Who a bearer call through api.atlassian.com acts as: the app's bot user for an
        app system token, the person for a user token. 401 for anything else."""
        installation, subject = self._bearer(authorization)
        if installation.site is not site:
            raise GatewayError(401, "Unauthorized")
        if subject.startswith("app:"):
            return installation.app_user_id
        return site.user(subject).account_id

    def app_installation(self, authorization: str | None) -> ForgeInstallation:
        """The installation whose app system token this is (the app's own calls to
        api.atlassian.com outside a site, such as `/app/report-accounts/`); 401 otherwise."""
        installation, subject = self._bearer(authorization)
        if not subject.startswith("app:"):
            raise GatewayError(401, "Unauthorized")
        return installation

    def _bearer(self, authorization: str | None) -> tuple[ForgeInstallation, str]:
        if not authorization or authorization[:7].lower() != "bearer ":
            raise GatewayError(401, "Unauthorized")
        token = authorization[7:].strip()
        try:
            claims = jwt.decode(
                token,
                self._token_secret,
                algorithms=["HS256"],
                audience="api.atlassian.com",
                # Times are read against the emulator's own clock, below.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "sub"],
                },
            )
        except jwt.PyJWTError as exc:
            raise GatewayError(401, "Unauthorized") from exc
        if claims["exp"] <= self._now():
            raise GatewayError(401, "Unauthorized")
        installation_id = claims.get("https://id.atlassian.com/installation")
        installation = next(
            (
                i
                for i in self.installations.values()
                if i.installation_id == installation_id and i.installed
            ),
            None,
        )
        if installation is None:
            raise GatewayError(401, "Unauthorized")
        subject = str(claims["sub"])
        if subject.startswith("app:") and token not in installation.system_tokens:
            raise GatewayError(401, "Unauthorized")
        return installation, subject

    def user_token(self, site: Site, app: ForgeApp, account_id: str) -> str:
        """The `x-forge-oauth-user` token of a UI call by `account_id` (4 hours)."""
        return self._user_token(self._installed(site, app), account_id)

    # --- product events ----------------------------------------------------------------------

    def worklog_payload(self, site: Site, worklog: Worklog) -> dict[str, Any]:
        return {
            "id": worklog.id,
            "issueId": worklog.issue_id,
            "author": {"accountId": worklog.author_id},
            "updateAuthor": {"accountId": worklog.update_author_id},
            "created": jira_datetime(worklog.created_ms),
            "updated": jira_datetime(worklog.updated_ms),
            "started": worklog.started,
            "timeSpent": time_spent_text(worklog.time_spent_seconds),
            "timeSpentSeconds": worklog.time_spent_seconds,
        }

    def issue_payload(self, site: Site, issue: Issue) -> dict[str, Any]:
        project = site.projects[issue.project_id]
        return {
            "id": issue.id,
            "key": issue.key,
            "fields": {
                "summary": issue.summary,
                "project": {"id": project.id, "key": project.key, "name": project.name},
            },
        }

    def queue_event(
        self, site: Site, event: str, payload: dict[str, Any], *, actor: str | None = None
    ) -> list[ForgeEvent]:
        """A change on `site`: one event per live installation whose app subscribes to it.
        The payload is a snapshot: a later edit must not change what this event said."""
        queued = []
        for installation in self.installations.values():
            app = installation.app
            if installation.site is not site or not app.events_path or event not in app.events:
                continue
            body: dict[str, Any] = {
                "eventType": event,
                "selfGenerated": actor is not None and actor == installation.app_user_id,
                **json.loads(json.dumps(payload)),
                "timestamp": str(site.now_ms()),
            }
            if actor is not None:
                body["atlassianId"] = actor
            queued.append(ForgeEvent(next(self._event_ids), installation, event, body))
        self.events.extend(queued)
        if queued and self._sandbox.deliver_webhooks_immediately:
            self._deliver_soon(site)
        return queued

    @property
    def background_tasks(self) -> list[asyncio.Task[Any]]:
        return list(self._background)

    def _deliver_soon(self, site: Site) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous arrange step): stays queued
        task = loop.create_task(self.deliver_events(site))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def pending_events(self, site: Site | None = None) -> list[ForgeEvent]:
        return [e for e in self.events if site is None or e.installation.site is site]

    def _event(self, event_id: int) -> ForgeEvent:
        for queued in self.events:
            if queued.id == event_id:
                return queued
        raise KeyError(f"No pending Forge event {event_id}")

    def duplicate_event(self, event_id: int, *, at_end: bool = False) -> ForgeEvent:
        """Forge delivering an event twice: a copy, right after it or last."""
        original = self._event(event_id)
        twin = ForgeEvent(
            next(self._event_ids),
            original.installation,
            original.event,
            json.loads(json.dumps(original.payload)),
        )
        index = len(self.events) if at_end else self.events.index(original) + 1
        self.events.insert(index, twin)
        return twin

    def drop_event(self, event_id: int) -> ForgeEvent:
        dropped = self._event(event_id)
        self.events.remove(dropped)
        return dropped

    def reorder_events(self, event_ids: list[int]) -> None:
        if sorted(event_ids) != sorted(e.id for e in self.events):
            raise ValueError("reorder must list every pending event exactly once")
        by_id = {e.id: e for e in self.events}
        self.events[:] = [by_id[i] for i in event_ids]

    def event_request(self, queued: ForgeEvent, retry: dict[str, Any] | None) -> ForgeRequest:
        installation = queued.installation
        app, site = installation.app, installation.site
        assert app.events_path
        body = {
            **queued.payload,
            "context": {"cloudId": site.cloud_id, "moduleKey": app.events_module_key},
        }
        if retry is not None:
            body["retryContext"] = retry
        fit = self.trigger_token(installation, module_key=app.events_module_key)
        return ForgeRequest(
            event=queued.event,
            url=app.remote_base_url + app.events_path,
            headers=self._headers(fit, installation, system=app.app_system_token),
            body=body,
        )

    async def deliver_events(
        self, site: Site | None = None, *, only: list[int] | None = None
    ) -> list[ForgeDelivery]:
        """Deliver the pending events (of `site`; only those of `only`, in its order, when
        given: the rest stay pending, to come late), each with Forge's retries. An event of
        an installation that has gone meanwhile is not sent."""
        chosen = [self._event(i) for i in only] if only is not None else self.pending_events(site)
        deliveries = []
        for queued in chosen:
            self.events.remove(queued)
            if queued.installation.installed:
                deliveries.append(await self.deliver(self._event_builder(queued)))
        return deliveries

    def _event_builder(self, queued: ForgeEvent) -> Callable[[dict[str, Any] | None], ForgeRequest]:
        def build(retry: dict[str, Any] | None) -> ForgeRequest:
            return self.event_request(queued, retry)

        return build

    # --- scheduled triggers ------------------------------------------------------------------

    def scheduled_request(
        self, installation: ForgeInstallation, retry: dict[str, Any] | None = None
    ) -> ForgeRequest:
        app, site = installation.app, installation.site
        assert app.scheduled_path
        body: dict[str, Any] = {
            "context": {"cloudId": site.cloud_id, "moduleKey": app.scheduled_module_key}
        }
        if retry is not None:
            body["retryContext"] = retry
        fit = self.trigger_token(installation, module_key=app.scheduled_module_key)
        return ForgeRequest(
            event="scheduledTrigger",
            url=app.remote_base_url + app.scheduled_path,
            headers=self._headers(fit, installation, system=app.app_system_token),
            body=body,
        )

    async def run_scheduled(self, site: Site, app: ForgeApp) -> ForgeDelivery:
        """One run of the app's scheduled trigger (Forge may run one more than once)."""
        installation = self._installed(site, app)
        return await self.deliver(lambda retry: self.scheduled_request(installation, retry))

    # --- the JWKS ----------------------------------------------------------------------------

    def jwks_for_host(self, host: str) -> dict[str, Any] | None:
        host = host.split(":", 1)[0].lower()
        if host.startswith(_IC_HOST_PREFIX) and host.endswith(_IC_HOST_SUFFIX):
            label = host[len(_IC_HOST_PREFIX) : -len(_IC_HOST_SUFFIX)]
            ring = self.isolated_clouds.get(label)
            return ring.jwks() if ring is not None else None
        return self.keys.jwks()


@router.get(JWKS_PATH, include_in_schema=False)
async def jwks(request: Request) -> JSONResponse:
    platform: ForgePlatform = request.app.state.sandbox.forge
    host = request.headers.get("host", JWKS_HOST)
    platform.jwks_requests[host.split(":", 1)[0].lower()] += 1
    if platform.jwks_unavailable:
        return JSONResponse({"message": "Service Unavailable"}, status_code=503)
    document = platform.jwks_for_host(host)
    if document is None:
        return JSONResponse({"message": "Not Found"}, status_code=404)
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


_FORGE_HEADERS = {
    "authorization",
    "x-forge-oauth-system",
    "x-forge-oauth-user",
    "x-b3-traceid",
    "x-b3-spanid",
    "host",
    "content-length",
}


def app_fields_from_manifest(manifest: dict[str, Any], folder: Path) -> dict[str, Any]:
    """`ForgeApp` fields read off a deployed `manifest.yml` (its remote endpoints, triggers,
    Custom UI modules and resources), as Forge reads them at `forge deploy`."""
    modules: dict[str, Any] = manifest.get("modules") or {}
    endpoints = {e["key"]: e for e in modules.get("endpoint") or []}
    remotes = {r["key"]: r for r in manifest.get("remotes") or []}

    def route(endpoint_key: str) -> str | None:
        path = (endpoints[endpoint_key].get("route") or {}).get("path")
        return str(path) if path else None

    fields: dict[str, Any] = {
        "app_id": str(manifest["app"]["id"]),
        "lifecycle_path": None,
        "uninstall_path": None,
        "events_path": None,
        "scheduled_path": None,
        "events": (),
    }
    for trigger in modules.get("trigger") or []:
        events = tuple(str(e) for e in trigger.get("events") or [])
        if set(events) & {INSTALLED, UPGRADED}:
            fields["lifecycle_path"] = route(trigger["endpoint"])
            fields["lifecycle_module_key"] = trigger["key"]
        else:
            fields["events_path"] = route(trigger["endpoint"])
            fields["events_module_key"] = trigger["key"]
            fields["events"] = events
    for scheduled in (modules.get("scheduledTrigger") or [])[:1]:
        fields["scheduled_path"] = route(scheduled["endpoint"])
        fields["scheduled_module_key"] = scheduled["key"]
    for uninstall in (modules.get("preUninstall") or [])[:1]:
        fields["uninstall_path"] = route(uninstall["endpoint"])
        fields["uninstall_module_key"] = uninstall["key"]

    ui_modules = []
    ui_endpoint: dict[str, Any] | None = None
    for module_type in UI_MODULE_TYPES:
        for module in modules.get(module_type) or []:
            ui_modules.append(
                ForgeUiModule(
                    type=module_type,
                    key=str(module["key"]),
                    title=str(module.get("title", "")),
                    resource=str(module.get("resource", "")),
                    pages=tuple(
                        (str(p["title"]), str(p["route"])) for p in module.get("pages") or []
                    ),
                    use_as_config=bool(module.get("useAsConfig")),
                    label=str(module["label"]) if module.get("label") else None,
                )
            )
            resolver = (module.get("resolver") or {}).get("endpoint")
            if resolver and ui_endpoint is None:
                ui_endpoint = endpoints[resolver]
    fields["ui_modules"] = tuple(ui_modules)
    if ui_modules:
        first = next((m for m in ui_modules if m.type == "jira:globalPage"), ui_modules[0])
        fields["ui_module_key"], fields["ui_module_type"] = first.key, first.type
    auth = (ui_endpoint or {}).get("auth") or {}
    fields["app_user_token"] = bool((auth.get("appUserToken") or {}).get("enabled"))
    fields["app_system_token"] = bool((auth.get("appSystemToken") or {}).get("enabled"))
    remote_key = (ui_endpoint or next(iter(endpoints.values()), {})).get("remote")
    fields["remote_base_url"] = str(remotes[remote_key]["baseUrl"]).rstrip("/")
    fields["resources"] = {
        str(r["key"]): folder / str(r["path"]) for r in manifest.get("resources") or []
    }
    permissions = manifest.get("permissions") or {}
    content = permissions.get("content") or {}
    fields["content_scripts"] = tuple(str(s) for s in content.get("scripts") or [])
    fields["content_styles"] = tuple(str(s) for s in content.get("styles") or [])
    fields["scopes"] = tuple(str(s) for s in permissions.get("scopes") or [])
    return fields


def _b64uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _exp(token: str) -> int:
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp", 0)
    return int(exp) if isinstance(exp, int | float) else 0
