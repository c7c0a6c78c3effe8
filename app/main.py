"""The FastAPI application: routers, error rendering, the runtime's lifespan."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import validation_errors
from app.assembly import open_runtime
from app.billing import accounting
from app.billing.invoice_routes import router as invoices_router
from app.billing.lock_triggers import locked_refusal
from app.billing.me_routes import router as billing_me_router
from app.billing.report_routes import router as billing_reports_router
from app.billing.routes import router as billing_router
from app.billing.worklog_routes import router as billing_worklogs_router
from app.body_limit import BodySizeLimit
from app.errors import ERROR_RESPONSES, AppError, error_body
from app.observability.health import migration_head
from app.observability.requests import RequestObserver
from app.observability.routes import router as ops_router
from app.pages.routes import router as pages_router
from app.privacy import jobs as privacy_jobs  # noqa: F401 - registers its jobs
from app.quickbooks import jobs as quickbooks_jobs  # noqa: F401 - registers its jobs
from app.quickbooks.invoice_routes import router as quickbooks_invoices_router
from app.quickbooks.provider import QuickBooksAccounting
from app.quickbooks.routes import router as quickbooks_router
from app.settings import PROJECT_ROOT, Settings, load_settings
from app.tenants import jobs as tenant_jobs  # noqa: F401 - registers its jobs
from app.tenants.forge_routes import router as forge_router
from app.tenants.routes import router as connect_router
from app.worklogs import jobs as worklog_jobs
from app.worklogs.forge_routes import router as forge_worklogs_router
from app.worklogs.ingest import WebhookIngestor
from app.worklogs.routes import router as worklogs_router

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.fields), status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        explained = validation_errors.explain(exc.errors())
        body = error_body("invalid_request", explained.message)
        # Always a list on a validation error, empty when no one field is at fault.
        return JSONResponse({"error": {**body["error"], "fields": explained.fields}}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else "The request failed."
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal_error", "Something went wrong on our side; please retry."),
            status_code=500,
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            # The server cut the connection mid-request (failover, restart): the pool gives
            # the next request a fresh one. What this one wrote was rolled back or, if the
            # cut came at the commit, is unknown: the user is told to look, then try again.
            logger.warning(
                "the database connection was cut on %s %s", request.method, request.url.path
            )
            response = JSONResponse(
                error_body(
                    "database_unavailable",
                    "Worklog360 lost its connection to the database while answering. Reload "
                    "to see what was saved, then try again.",
                ),
                status_code=503,
            )
            response.headers["Retry-After"] = "1"
            return response
        refusal = locked_refusal(exc)
        if refusal is None:
            return await _unexpected(request, exc)
        return await _app_error(request, refusal)


def create_app(
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    run_periodic_jobs: bool = True,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> FastAPI:
    """Build the app. `transport` routes every outbound HTTP call (tests, the demo)."""
    settings = settings or load_settings()
    accounting.register(QuickBooksAccounting())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, transport=transport, sleep=sleep) as runtime:
            app.state.runtime = runtime
            app.state.webhook_ingestor = WebhookIngestor(runtime.sessions, runtime.writer_lock)
            # Objects made while starting up live for ever: keep them out of the garbage
            # collector's way, which shortens its pauses (the latency tail) under load.
            gc.freeze()
            worklog_jobs.start(runtime)
            if run_periodic_jobs:
                runtime.jobs.start_periodic(runtime)
            try:
                yield
            finally:
                await app.state.webhook_ingestor.close()

    app = FastAPI(title="Worklog360", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.max_body_bytes)
    app.include_router(connect_router)
    app.include_router(forge_router)
    app.include_router(forge_worklogs_router)
    app.include_router(pages_router)
    app.include_router(worklogs_router)
    app.include_router(billing_reports_router)
    app.include_router(billing_router)
    app.include_router(billing_worklogs_router)
    app.include_router(billing_me_router)
    app.include_router(quickbooks_router)
    app.include_router(invoices_router)
    app.include_router(quickbooks_invoices_router)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")

    app.include_router(ops_router)
    app.state.migration_head = migration_head(settings.database_url)
    app.add_middleware(RequestObserver)
    return app
