"""The logs never carry a secret or a token: the whole guide (install, Connect to
QuickBooks, a client linked, an invoice generated, finalized, synced and refreshed, a worklog
webhook, pages opened with `?jwt=`) run with every logger at DEBUG, then every secret the
run handled is looked for in what was written."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.observability.logs import configure_logging
from app.quickbooks.tokens import access_token_of, refresh_token_of
from tests.app.quickbooks.conftest import connection_row
from tests.app.quickbooks.invoicing import (
    finalized_invoice,
    invoicing_world,
    linked_client,
    synced,
)
from tests.support.apps import TEST_SECRET_KEY
from tests.support.world import QBO_CLIENT_SECRET, QBO_VERIFIER_TOKEN, World


@pytest.fixture
async def logged() -> AsyncIterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    yield stream
    configure_logging("INFO")


@pytest.fixture
async def world(database_url: str, tmp_path: Path, logged: io.StringIO) -> AsyncIterator[World]:
    async with invoicing_world(database_url, tmp_path) as world:
        yield world


async def test_no_secret_or_token_is_ever_logged(world: World, logged: io.StringIO) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    await synced(world, int(invoice["id"]))
    await world.api("POST", f"/api/invoices/{invoice['id']}/refresh")
    issue = world.site.add_issue("ALPHA", "Logged").id
    world.site.add_worklog(
        issue, "user-1", started="2026-11-04T09:00:00.000+0000", time_spent_seconds=900
    )
    await world.settle()
    page_token = world.site.context_token(world.app_key, "user-admin")
    page = await world.client.get(f"/invoices?jwt={page_token}&xdm_e=x")
    context = world.context_headers("user-1")["Authorization"].removeprefix("JWT ")
    await world.client.get("/api/invoices", headers={"Authorization": f"JWT {context}"})
    await world.client.get("/api/invoices", headers={"Authorization": "JWT not.a.token"})

    installation = world.site.installations[world.app_key]
    row = await connection_row(world)
    secrets = {
        "the Connect shared secret": installation.shared_secret,
        "W360_SECRET_KEY": TEST_SECRET_KEY,
        "the QuickBooks client secret": QBO_CLIENT_SECRET,
        "the QuickBooks webhook verifier token": QBO_VERIFIER_TOKEN,
        "the QuickBooks access token": access_token_of(world.runtime.secrets, row),
        "the QuickBooks refresh token": refresh_token_of(world.runtime.secrets, row),
        "a page token": page_token,
        "a context token": context,
        "a token's signature": context.rsplit(".", 1)[1],
        "the stored access token's ciphertext": row.access_token_encrypted,
    }
    written = logged.getvalue()
    assert page.status_code < 500
    # The run did log, at DEBUG: requests, calls out, jobs.
    for event in ('"event": "request"', '"event": "outbound"', '"event": "job"'):
        assert event in written, event
    leaked = [what for what, value in secrets.items() if value and value in written]
    assert leaked == []
