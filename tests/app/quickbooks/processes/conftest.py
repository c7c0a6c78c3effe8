"""Fixtures of the multi-process tests: a PostgreSQL database of their own (the promises are
about processes sharing one PostgreSQL, whatever `W360_TEST_BACKENDS` says), the emulator's
process, and a tenant connected to its company with tokens from a real OAuth exchange."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.assembly import open_runtime
from app.db import transaction
from app.quickbooks.models import QuickBooksConnection
from app.quickbooks.tokens import CONNECTED, seal_tokens
from app.runtime import Runtime
from app.settings import QuickBooksSettings
from tests.app.quickbooks.processes.harness import REDIRECT_URI, Children, QboServer, qbo_server
from tests.conftest import empty_all_tables, own_postgres_database
from tests.support.apps import APP_BASE_URL, TEST_SECRET_KEY, make_settings
from tests.support.db import add_tenant


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    yield from own_postgres_database()


@pytest.fixture
def qbo() -> Iterator[QboServer]:
    with qbo_server() as server:
        yield server


@dataclass
class Setup:
    runtime: Runtime
    qbo: QboServer
    tenant_id: int
    env: dict[str, str]

    def children(self, barrier: Path) -> Children:
        return Children(self.env, barrier)


@pytest.fixture
async def setup(postgres_url: str, qbo: QboServer, tmp_path: Path) -> AsyncIterator[Setup]:
    env = {
        "W360_ENV": "development",
        "W360_BASE_URL": APP_BASE_URL,
        "W360_DATABASE_URL": postgres_url,
        "W360_SECRET_KEY": TEST_SECRET_KEY,
        "W360_DATA_DIR": str(tmp_path / "data"),
        "W360_AUTO_MIGRATE": "false",
        "W360_JOBS": "embedded",
        **qbo.settings_env(),
    }
    qbo_settings = {k.removeprefix("W360_QBO_").lower(): v for k, v in qbo.settings_env().items()}
    settings = make_settings(
        postgres_url, tmp_path / "data", qbo=QuickBooksSettings(**qbo_settings)
    )
    async with open_runtime(settings) as runtime:
        tenant_id = await add_tenant(runtime.sessions)
        tokens = await runtime.quickbooks.exchange_code(
            qbo.authorization_code(), redirect_uri=REDIRECT_URI
        )
        async with transaction(runtime.sessions) as session:
            row = QuickBooksConnection(
                tenant_id=tenant_id,
                status=CONNECTED,
                realm_id=qbo.realm_id,
                company_name="Sandbox Company_US_1",
                environment="sandbox",
                connected_at=runtime.quickbooks.now(),
            )
            seal_tokens(runtime.secrets, row, tokens, now=runtime.quickbooks.now())
            session.add(row)
        qbo.control("DELETE", "/calls")
        try:
            yield Setup(runtime, qbo, tenant_id, env)
        finally:
            empty_all_tables(postgres_url)
