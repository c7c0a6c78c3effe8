"""Database access: SQLAlchemy 2 async engine and sessions on SQLite or PostgreSQL.

Settings carry plain URLs (`sqlite:///path`, `postgresql://…`); the async driver is picked
here. A session is opened per request (or job) and committed or rolled back at that edge;
services only `flush()`.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import DateTime, MetaData, Numeric, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on every backend.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so values are stored as UTC and
    marked UTC again when read. A naive datetime is a bug and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use app.timeutil.utc_now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# A foreign key declared with `info=trigger_on_postgresql()` is a statement-level trigger on
# PostgreSQL instead (the same checks, locks and cascade once per statement rather than once
# per row, when a draft claims 50,000 worklogs into 50,000 lines): schema comparisons there
# do not expect the constraint.
_ENFORCED_BY = "worklog360_enforced_by"


def trigger_on_postgresql() -> dict[str, Any]:
    return {_ENFORCED_BY: "trigger on postgresql"}


def enforced_by_trigger_on_postgresql(constraint: object) -> bool:
    info = getattr(constraint, "info", None)
    return isinstance(info, dict) and info.get(_ENFORCED_BY) == "trigger on postgresql"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), Decimal: Numeric(18, 2)}


def dialect_insert(session: AsyncSession) -> Any:
    """`insert` with ON CONFLICT support for the session's backend (SQLite or PostgreSQL)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def conninfo(database_url: str) -> str:
    """libpq's connection string for the app's `postgresql://…` URL (any `+driver` off)."""
    scheme, rest = database_url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith(("postgresql", "postgres")) else database_url


def async_url(database_url: str) -> URL:
    """`sqlite:///x` → aiosqlite, `postgresql://…` → psycopg (async)."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    raise ValueError(f"Unsupported database URL scheme: {url.drivername!r}")


def _ensure_sqlite_folder(url: URL) -> None:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers and one writer work at once; busy_timeout makes concurrent writers
    # wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(
    database_url: str,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    **kwargs: Any,
) -> AsyncEngine:
    """`pool_size` and `max_overflow` apply on PostgreSQL (W360_DB_POOL_SIZE and
    W360_DB_MAX_OVERFLOW); None keeps SQLAlchemy's 5 and 10."""
    url = async_url(database_url)
    if url.get_backend_name() == "sqlite":
        _ensure_sqlite_folder(url)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if pool_size is not None:
        kwargs["pool_size"] = pool_size
    if max_overflow is not None:
        kwargs["max_overflow"] = max_overflow
    return create_async_engine(url, **kwargs)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class WriterLock:
    """Serialises write transactions across processes on one SQLite file.

    SQLite lets one writer in at a time and makes the others poll with sleeps of up to
    100 ms (its busy handler), which is where a multi-process SQLite app's latency tail
    comes from. Taking an OS file lock first lets waiters queue in the kernel and wake the
    moment the lock is free. On PostgreSQL (row-level locking) it does nothing.
    """

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._path: Path | None = None
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            self._path = Path(url.database).expanduser().resolve().with_suffix(".write-lock")
        self._local = asyncio.Lock()

    @property
    def serialises(self) -> bool:
        """True when writers take turns (SQLite)."""
        return self._path is not None

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        if self._path is None:
            yield
            return
        async with self._local:  # one thread per process waits on the file lock
            waiting = asyncio.get_running_loop().run_in_executor(None, _lock_file, self._path)
            try:
                # A waiter cancelled meanwhile (a timeout, a shutdown) must not leave the
                # lock its thread then takes held by a handle nobody closes.
                handle = await asyncio.shield(waiting)
            except asyncio.CancelledError:
                waiting.add_done_callback(_close_when_taken)
                raise
            try:
                yield
            finally:
                handle.close()  # closing the descriptor releases the lock


def _close_when_taken(taken: asyncio.Future[IO[bytes]]) -> None:
    if not taken.cancelled() and taken.exception() is None:
        taken.result().close()


def _lock_file(path: Path) -> IO[bytes]:
    handle = path.open("ab")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    return handle


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
