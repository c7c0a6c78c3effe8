"""`/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.errors import error_body
from app.observability import gauges, health, metrics
from app.runtime import Runtime

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    checks = await health.readiness(
        runtime.engine,
        head=request.app.state.migration_head,
        worker_heartbeat_seconds=(
            settings.ready_worker_heartbeat_seconds if settings.jobs == "worker" else None
        ),
    )
    ready = all(c.ok for c in checks)
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
        "failed": [c.name for c in checks if not c.ok],
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics_text(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if token is None and settings.is_production:
        return JSONResponse(
            error_body("metrics_closed", "Set W360_METRICS_TOKEN to open /metrics."), 403
        )
    if token is not None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return JSONResponse(
                error_body("unauthorized", "/metrics needs Authorization: Bearer <token>."),
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    await gauges.refresh(runtime)
    body, content_type = metrics.scrape()
    return Response(body, media_type=content_type)
