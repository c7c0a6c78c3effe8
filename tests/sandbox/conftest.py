from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox.jira import InstallKeyRing, JiraSandbox, SandboxClock, Site
from tests.sandbox.connect_app import ConnectApp

NOW_MS = 1_793_696_400_000  # 2026-11-03T09:00:00Z
SITE_URL = "https://acme.atlassian.net"


@pytest.fixture(scope="session")
def install_keys() -> InstallKeyRing:
    # RSA key generation is the slowest thing here; tests that rotate keys make their own.
    return InstallKeyRing()


@pytest.fixture
def clock() -> SandboxClock:
    return SandboxClock(NOW_MS)


@pytest.fixture
def connect_app() -> ConnectApp:
    return ConnectApp()


@pytest.fixture
async def sandbox(
    clock: SandboxClock, install_keys: InstallKeyRing, connect_app: ConnectApp
) -> AsyncIterator[JiraSandbox]:
    to_app = httpx.AsyncClient(transport=httpx.ASGITransport(app=connect_app.asgi))
    jira = JiraSandbox(http=to_app, clock=clock, install_keys=install_keys)
    connect_app.use_install_keys(jira.app, f"{SITE_URL}/_sandbox/install-keys")
    yield jira
    await jira.aclose()
    await to_app.aclose()


@pytest.fixture
def site(sandbox: JiraSandbox) -> Site:
    return sandbox.add_site(SITE_URL)


@pytest.fixture
async def jira_http(sandbox: JiraSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """How the app reaches Jira: HTTP into the sandbox's ASGI app."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as client:
        yield client
