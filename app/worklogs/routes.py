"""Jira's worklog webhooks, and the worklog API the pages use."""

from __future__ import annotations

import json

from fastapi import APIRouter, BackgroundTasks, Request, Response

from app.dependencies import RuntimeDep, SessionDep, get_runtime
from app.errors import Unprocessable
from app.observability.requests import add_plain_route
from app.tenants.auth import ApiContext, webhook_context
from app.worklogs import jobs, service
from app.worklogs.ingest import WebhookIngestor
from app.worklogs.schemas import SyncOut

router = APIRouter()


async def jira_worklog_webhook(request: Request) -> Response:
    """The busiest route of all, so a plain Starlette route (registered below) rather than
    a FastAPI one: at thousands a second, FastAPI's per-request machinery (dependency
    solving, response handling) costs more than the work. Errors are the same AppErrors,
    rendered by the same handlers."""
    context = await webhook_context(request, get_runtime(request))
    body = await request.body()  # at most W360_MAX_BODY_BYTES (app.body_limit)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise Unprocessable("The webhook body is not JSON.", code="invalid_webhook") from exc
    event = service.parse_webhook(payload)
    # Committed (with whatever else arrived meanwhile) before we answer. Issues the worklog
    # names are looked up later by the periodic sweep, in bulk, never here.
    await webhook_ingestor(request).ingest(context.tenant.id, event)
    return Response(status_code=204)


add_plain_route(router, "/webhooks/jira/worklog", jira_worklog_webhook, methods=["POST"])


def webhook_ingestor(request: Request) -> WebhookIngestor:
    ingestor: WebhookIngestor = request.app.state.webhook_ingestor
    return ingestor


@router.post("/api/sync/worklogs", response_model=SyncOut, status_code=202, tags=["worklogs"])
async def start_worklog_sync(
    context: ApiContext, session: SessionDep, runtime: RuntimeDep, background: BackgroundTasks
) -> SyncOut:
    background.add_task(jobs.request_sync, runtime, context.tenant.id)
    return SyncOut.of(await service.sync_status(session, context.tenant.id))


@router.get("/api/sync/worklogs", response_model=SyncOut, tags=["worklogs"])
async def worklog_sync_status(context: ApiContext, session: SessionDep) -> SyncOut:
    return SyncOut.of(await service.sync_status(session, context.tenant.id))
