"""Every route solves the dependencies that ask Jira (who the caller is, whether they may
edit billing or see money, people's names, a budget's projects) before it opens its
transaction (`SessionDep`): a write never holds the database while it waits on Jira. FastAPI
solves dependencies in the order a route declares them, so the order is checked here over
every route of the app, as the import rule is over the import graph."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.billing.editor import BillingEditor
from app.dependencies import BEFORE_THE_TRANSACTION, SessionDep, get_session
from app.main import create_app
from tests.support.apps import make_settings


def _solved_in_order(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """What FastAPI calls, in its order: each dependency's own ones first, then it."""
    for sub in dependant.dependencies:
        yield from _solved_in_order(sub)
        if sub.call is not None:
            yield sub.call


def _routes(tmp_path: Path) -> list[APIRoute]:
    """The app's API routes, through the routers it includes (FastAPI keeps those as
    included routers; none adds dependencies of its own at the include)."""
    app = create_app(make_settings(f"sqlite:///{tmp_path}/w.db", tmp_path))

    def inside(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):
                yield from inside(route.original_router.routes)

    return list(inside(app.routes))


def test_jira_is_asked_before_the_transaction_opens_on_every_route(tmp_path: Path) -> None:
    checked = 0
    late: list[str] = []
    for route in _routes(tmp_path):
        calls = list(_solved_in_order(route.dependant))
        if get_session not in calls:
            continue
        opened = calls.index(get_session)
        # FastAPI solves a dependency once per request: one already solved is not again.
        solved = set(calls[:opened])
        after = [
            c
            for c in calls[opened:]
            if getattr(c, BEFORE_THE_TRANSACTION, False) and c not in solved
        ]
        checked += 1
        late += [f"{route.methods} {route.path}: {c.__qualname__}" for c in after]
    assert late == []
    assert checked > 30  # the routes with a transaction were all looked at


def test_the_check_sees_a_route_in_the_wrong_order(tmp_path: Path) -> None:
    app = FastAPI()

    @app.post("/wrong")
    async def wrong(session: SessionDep, _: BillingEditor) -> None:
        return None

    (route,) = [r for r in app.routes if isinstance(r, APIRoute)]
    calls = list(_solved_in_order(route.dependant))
    opened = calls.index(get_session)
    assert [c.__name__ for c in calls[opened:] if getattr(c, BEFORE_THE_TRANSACTION, False)] == [
        "api_context",
        "billing_editor",
    ]
