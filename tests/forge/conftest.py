from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from forge.invocation import InvocationTokenVerifier
from forge.jwks import JwksKeyStore
from sandbox.jira import ForgeApp, ForgeInstallation, ForgeKeyRing, JiraSandbox, Site
from sandbox.jira.forge import IC_JWKS_URL_TEMPLATE, JWKS_HOST, JWKS_URL

NOW = 1_793_696_400.0  # 2026-11-03T09:00:00Z
SITE_URL = "https://acme.atlassian.net"


class Clock:
    """Seconds that only move when a test moves them."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def forge_keys() -> ForgeKeyRing:
    # Key generation is slow; tests that rotate or retire keys make their own ring.
    ring = ForgeKeyRing()
    ring.rotate()
    return ring


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@dataclass
class Forge:
    sandbox: JiraSandbox
    site: Site
    app: ForgeApp
    installation: ForgeInstallation
    keys: JwksKeyStore
    verifier: InvocationTokenVerifier
    clock: Clock

    @property
    def jwks_fetches(self) -> int:
        return self.sandbox.forge.jwks_requests[JWKS_HOST]

    def fetches_from(self, host: str) -> int:
        return self.sandbox.forge.jwks_requests[host]

    def ui_token(self, account_id: str | None = "user-1", **kwargs: object) -> str:
        return self.sandbox.forge.ui_token(self.site, self.app, account_id, **kwargs)  # type: ignore[arg-type]

    def ui_claims(self, account_id: str | None = "user-1") -> dict[str, object]:
        return self.sandbox.forge.invocation_claims(
            self.installation, account_id=account_id, module_type="jira:globalPage", ui=True
        )


async def make_forge(ring: ForgeKeyRing, clock: Clock) -> AsyncIterator[Forge]:
    sandbox = JiraSandbox(token_clock=clock, forge_keys=ring)
    site = sandbox.add_site(SITE_URL)
    app = sandbox.forge.register_app("https://worklog360.test")
    installation = sandbox.forge.new_installation(site, app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as http:
        keys = JwksKeyStore(http, clock=clock)
        verifier = InvocationTokenVerifier(
            app_id=app.app_id,
            keys=keys,
            jwks_url=JWKS_URL,
            isolated_cloud_jwks_url_template=IC_JWKS_URL_TEMPLATE,
            clock=clock,
        )
        yield Forge(sandbox, site, app, installation, keys, verifier, clock)
    await sandbox.aclose()


@pytest.fixture
async def forge(forge_keys: ForgeKeyRing, clock: Clock) -> AsyncIterator[Forge]:
    async for world in make_forge(forge_keys, clock):
        yield world
