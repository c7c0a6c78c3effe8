"""Installing apps the way Jira does, and the tokens Jira hands to an app's pages.

`installed` and `uninstalled` are signed-install callbacks: RS256 with one of the sandbox's
own keys (`kid` in the header; the public PEM is served at `/_sandbox/install-keys/{kid}`),
`iss` = clientKey, `aud` = the app's baseUrl, and the real qsh of the POST. `enabled` and
`disabled` are HS256 with the shared secret. `lifecycle_request` builds any of them without
sending it, so security tests can tamper with headers or payload first.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.jira.models import Installation
from sandbox.jira.signing import query_hash_for_url, sign_hs256, sign_rs256

if TYPE_CHECKING:
    from sandbox.jira.emulator import JiraSandbox
    from sandbox.jira.site import Site

TOKEN_LIFETIME_SECONDS = 180
CONTEXT_TOKEN_LIFETIME_SECONDS = 15 * 60
SIGNED_EVENTS = frozenset({"installed", "uninstalled"})


class InstallFailedError(Exception):
    """The app did not answer 200/204 to `installed` (or its descriptor was unusable)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class InstallKeyRing:
    """The RSA keys Jira signs lifecycle callbacks with. Rotating adds a key under a new kid;
    old keys stay published (an app may have cached them) until retired."""

    def __init__(self, key_size: int = 2048) -> None:
        self._key_size = key_size
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self.current_kid = self.rotate()

    def rotate(self) -> str:
        kid = str(uuid.uuid4())
        self._keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=self._key_size)
        self.current_kid = kid
        return kid

    def retire(self, kid: str) -> None:
        if kid == self.current_kid:
            raise ValueError("rotate before retiring the current key")
        self._keys.pop(kid, None)

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def private_key(self, kid: str | None = None) -> rsa.RSAPrivateKey:
        return self._keys[kid or self.current_kid]

    def public_pem(self, kid: str) -> bytes | None:
        key = self._keys.get(kid)
        if key is None:
            return None
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(slots=True)
class LifecycleRequest:
    event: str
    url: str
    headers: dict[str, str]
    payload: dict[str, Any]
    body: bytes | None = field(default=None)
    """Raw body to send instead of `payload` (to test a body that differs from what was signed)."""

    def content(self) -> bytes:
        return self.body if self.body is not None else json.dumps(self.payload).encode("utf-8")


class Lifecycle:
    def __init__(self, sandbox: JiraSandbox) -> None:
        self._sandbox = sandbox

    def _now(self) -> int:
        return int(self._sandbox.token_clock())

    # --- installations -----------------------------------------------------------------------

    def record_installation(
        self,
        site: Site,
        descriptor: dict[str, Any],
        *,
        client_key: str | None = None,
        shared_secret: str | None = None,
        enabled: bool = True,
    ) -> Installation:
        installation = self.new_installation(site, descriptor)
        if client_key is not None:
            installation.client_key = client_key
        if shared_secret is not None:
            installation.shared_secret = shared_secret
        installation.enabled = enabled
        self._commit(site, installation)
        return installation

    @staticmethod
    def _commit(site: Site, installation: Installation) -> None:
        """Record an installation; a first install also creates the app's own Jira user."""
        if installation.app_user_id not in site.users:
            site.add_user(
                str(installation.descriptor.get("name") or installation.app_key),
                account_id=installation.app_user_id,
                account_type="app",
            )
        site.installations[installation.app_key] = installation

    def new_installation(self, site: Site, descriptor: dict[str, Any]) -> Installation:
        """What an install of `descriptor` would record: the site's clientKey for the app
        (kept from an earlier install) and a fresh shared secret. Nothing is stored yet."""
        key, base_url = descriptor.get("key"), descriptor.get("baseUrl")
        if not isinstance(key, str) or not key or not isinstance(base_url, str) or not base_url:
            raise InstallFailedError("The app descriptor needs a key and a baseUrl.")
        previous = site.installations.get(key)
        if previous is not None:
            # Jira keeps the clientKey of a site for ever; only the secret is new.
            client_key, app_user_id = previous.client_key, previous.app_user_id
            sen, oauth_client_id = previous.service_entitlement_number, previous.oauth_client_id
        else:
            client_key = str(uuid.uuid4())
            app_user_id = f"557058:{uuid.uuid4()}"
            sen = f"SEN-{secrets.randbelow(10**8):08d}"
            oauth_client_id = secrets.token_urlsafe(24)
        return Installation(
            app_key=key,
            client_key=client_key,
            shared_secret=secrets.token_urlsafe(32),
            descriptor=descriptor,
            app_user_id=app_user_id,
            service_entitlement_number=sen,
            oauth_client_id=oauth_client_id,
            installed=True,
            enabled=False,
        )

    async def install(self, site: Site, descriptor_url: str) -> Installation:
        descriptor = await self._fetch_descriptor(descriptor_url)
        installation = self.new_installation(site, descriptor)
        request = self.lifecycle_request(site, installation, "installed")
        if request is not None:
            response = await self.send(request)
            if response.status_code not in (200, 204):
                raise InstallFailedError(
                    f"The app answered {response.status_code} to the installed callback.",
                    status_code=response.status_code,
                )
        self._commit(site, installation)
        await self.enable(site, installation.app_key)
        return installation

    async def _fetch_descriptor(self, descriptor_url: str) -> dict[str, Any]:
        try:
            response = await self._sandbox.http.get(descriptor_url)
        except httpx.HTTPError as exc:
            raise InstallFailedError(f"The app descriptor could not be fetched: {exc}") from exc
        if response.status_code != 200:
            raise InstallFailedError(
                f"The app descriptor answered {response.status_code}.",
                status_code=response.status_code,
            )
        try:
            descriptor = response.json()
        except ValueError as exc:
            raise InstallFailedError("The app descriptor is not JSON.") from exc
        if not isinstance(descriptor, dict):
            raise InstallFailedError("The app descriptor is not a JSON object.")
        return descriptor

    async def uninstall(self, site: Site, app_key: str) -> None:
        """Jira disables the app first, then sends `uninstalled` (they can race in the app)."""
        installation = site.installation(app_key)
        if installation.enabled:
            await self.disable(site, app_key)
        installation.installed = False
        await self._notify(site, installation, "uninstalled")

    async def enable(self, site: Site, app_key: str) -> None:
        installation = site.installation(app_key)
        installation.enabled = True
        await self._notify(site, installation, "enabled")

    async def disable(self, site: Site, app_key: str) -> None:
        installation = site.installation(app_key)
        installation.enabled = False
        await self._notify(site, installation, "disabled")

    async def _notify(self, site: Site, installation: Installation, event: str) -> None:
        # Only `installed` must succeed; the others are notifications Jira does not wait on.
        request = self.lifecycle_request(site, installation, event)
        if request is None:
            return
        try:
            await self.send(request)
        except httpx.HTTPError:
            return

    # --- the requests ------------------------------------------------------------------------

    def lifecycle_payload(
        self, site: Site, installation: Installation, event: str
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "key": installation.app_key,
            "clientKey": installation.client_key,
            "oauthClientId": installation.oauth_client_id,
        }
        if event == "installed":
            payload["sharedSecret"] = installation.shared_secret
        payload.update(
            {
                "baseUrl": site.base_url,
                "displayUrl": site.display_url,
                "productType": "jira",
                "description": f"Atlassian JIRA at {site.base_url}",
                "serviceEntitlementNumber": installation.service_entitlement_number,
                "eventType": event,
            }
        )
        # A Connect app adopted into Forge: Jira names the Forge installation too (ACE
        # stores it to associate the two, lib/store: `installationId`).
        forge_installation = self._sandbox.forge.linked_installation_id(site, installation.app_key)
        if forge_installation is not None:
            payload["installationId"] = forge_installation
        return payload

    def lifecycle_request(
        self, site: Site, installation: Installation, event: str
    ) -> LifecycleRequest | None:
        """The signed request Jira would send for `event`; None if the descriptor has no
        callback for it."""
        path = (installation.descriptor.get("lifecycle") or {}).get(event)
        if not path:
            return None
        url = installation.app_base_url + str(path)
        now = self._now()
        claims: dict[str, Any] = {
            "iss": installation.client_key,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "qsh": query_hash_for_url("POST", url, installation.app_base_url),
        }
        if event in SIGNED_EVENTS:
            keys = self._sandbox.install_keys
            claims["aud"] = [installation.app_base_url]
            token = sign_rs256(claims, keys.private_key(), keys.current_kid)
        else:
            token = sign_hs256(claims, installation.shared_secret)
        return LifecycleRequest(
            event=event,
            url=url,
            headers={
                "Authorization": f"JWT {token}",
                "Content-Type": "application/json",
                "User-Agent": "Atlassian Connect",
            },
            payload=self.lifecycle_payload(site, installation, event),
        )

    async def send(self, request: LifecycleRequest) -> httpx.Response:
        return await self._sandbox.http.post(
            request.url, content=request.content(), headers=request.headers
        )

    # --- tokens for the app's iframes --------------------------------------------------------

    def context_token(self, site: Site, installation: Installation, account_id: str | None) -> str:
        now = self._now()
        claims: dict[str, Any] = {
            "iss": installation.client_key,
            "iat": now,
            "exp": now + CONTEXT_TOKEN_LIFETIME_SECONDS,
            "qsh": "context-qsh",
            "context": {},
        }
        if account_id is not None:
            claims["sub"] = account_id
        return sign_hs256(claims, installation.shared_secret)

    def page_url(
        self, site: Site, installation: Installation, path_with_query: str, account_id: str | None
    ) -> str:
        if not path_with_query.startswith("/"):
            raise ValueError("page paths start with '/'")
        user = site.users.get(account_id) if account_id else None
        context = {
            "xdm_e": site.display_url,
            "xdm_c": f"channel-{installation.app_key}",
            "cp": site.context_path,
            "xdm_deprecated_addon_key_do_not_use": installation.app_key,
            "lic": "active" if installation.descriptor.get("enableLicensing") else "none",
            "cv": "1001.0.0-SNAPSHOT",
            "tz": user.time_zone if user else "UTC",
            "loc": (user.locale if user else "en_US").replace("_", "-"),
        }
        separator = "&" if urlsplit(path_with_query).query else "?"
        url = f"{installation.app_base_url}{path_with_query}{separator}{urlencode(context)}"
        now = self._now()
        claims: dict[str, Any] = {
            "iss": installation.client_key,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "qsh": query_hash_for_url("GET", url, installation.app_base_url),
            "context": {},
        }
        if account_id is not None:
            claims["sub"] = account_id
        return f"{url}&jwt={sign_hs256(claims, installation.shared_secret)}"
