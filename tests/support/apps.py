"""Running the app in-process for tests: settings, lifespan, an HTTP client to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings

APP_BASE_URL = "https://worklog360.test"
TEST_SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnop"


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "development",
        "base_url": APP_BASE_URL,
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "data_dir": data_dir,
        "auto_migrate": False,
    }
    values.update(overrides)
    return Settings(**values)


class RecordedSleeps:
    """Stands in for asyncio.sleep in the app's retry loops: records, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@asynccontextmanager
async def running_app(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: RecordedSleeps | None = None,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan started, and a client that reaches it at its base URL."""
    app = create_app(settings, transport=transport, run_periodic_jobs=False, sleep=sleep)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.base_url
        ) as client,
    ):
        yield app, client
