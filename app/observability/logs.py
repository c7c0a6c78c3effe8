"""JSON log lines (structlog over the standard library), one per request and per job.

Every logger (ours, uvicorn's, procrastinate's) is rendered as one JSON object a line. Values
bound for a request or a job (request id, tenant) are carried in contextvars. Never pass a
secret, a token or a raw query string to a logger: only route templates are logged.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

import structlog

# httpx logs whole URLs, uvicorn's access log whole paths with their query (`?jwt=…`), and
# aiosqlite every statement with its parameters at DEBUG (ciphertexts, people's names).
QUIET_LOGGERS = ("httpx", "httpcore", "uvicorn.access", "aiosqlite", "psycopg")


class _StderrNow(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the line, not at configure time
    (a stream swapped and closed since, as test runners and daemonisers do, is not written)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _StderrNow()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The request and outbound lines (app.observability) say what these would, safely.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
