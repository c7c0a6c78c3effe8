"""QuickBooks tests: a site with Worklog360 installed, the QuickBooks emulator with one
company ("Acme Books") and the app registered at Intuit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.quickbooks.models import QuickBooksConnection
from tests.support.world import World, jira_world


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path) as world:
        await world.install()
        await world.settle()
        yield world


@pytest.fixture
async def connected(world: World) -> World:
    response = await world.connect_quickbooks()
    assert response.status_code == 200, response.text
    return world


async def connection_row(world: World) -> QuickBooksConnection:
    async with world.runtime.sessions() as session:
        row = (await session.execute(select(QuickBooksConnection))).scalar_one()
        return row


async def create_client(world: World, name: str, **fields: Any) -> int:
    response = await world.api(
        "POST", "/api/clients", json={"name": name, "currency": "USD", **fields}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def token_calls(world: World) -> int:
    return world.quickbooks.calls.count("POST", "/oauth2/v1/tokens/bearer")
