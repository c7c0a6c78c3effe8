"""FastAPI dependencies shared by every domain's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import transaction
from app.runtime import Runtime

Dependency = TypeVar("Dependency", bound=Callable[..., Any])
BEFORE_THE_TRANSACTION = "__w360_before_the_transaction__"


def before_the_transaction(dependency: Dependency) -> Dependency:
    """A dependency that asks Jira (or anything slow) before the request's transaction opens:
    a write must not hold the database (SQLite's one writer) while it waits. FastAPI solves a
    route's dependencies in the order they are declared, so a route must declare these before
    `SessionDep`; tests/app/test_dependency_order.py holds every route of the app to it."""
    setattr(dependency, BEFORE_THE_TRANSACTION, True)
    return dependency


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request, runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    if request.method in _READS:
        async with transaction(runtime.sessions) as session:
            yield session
        return
    # On SQLite a transaction that read before another one wrote cannot write any more
    # (SQLITE_BUSY_SNAPSHOT, no waiting helps): writers take turns from their first read.
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        yield session


# scope="function": the transaction commits before the response is sent, so a 2xx always
# means the change is durable (Jira treats a 2xx to a webhook as delivered).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
