"""What Forge sends the remote about worklogs: `POST /forge/events` (its product events) and
`POST /forge/scheduled` (the hourly scheduled trigger).

Both take only Forge's own calls (a FIT without a person, `app.tenants.auth.forge_trigger`),
answer 2xx once what they stand for is durable, well inside Forge's 5 s, and may be called
twice or more for one event (Forge retries a non-2xx four times, 60 s apart, and may deliver
an event more than once): what they store is idempotent. Each call's app system token is
kept when it is fresher than the stored one.

`/forge/events` is the Connect webhook's twin and as busy, so it too is a plain Starlette
route: created/updated worklogs are stored as worklogs to read from Jira (the event names
them; `app.worklogs.refresh` reads them), deletions applied at once, an issue's deletion
tombstoning its worklogs (Jira sends no worklog events for those). An event from an
installation not yet placed on its site answers 503, so that Forge delivers it again a
minute later, by when the site is known (and is asked now); an uninstalled installation's
late events are acknowledged and dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import JSONResponse

from app.dependencies import RuntimeDep, get_runtime
from app.errors import Unprocessable, error_body
from app.observability.requests import add_plain_route
from app.runtime import Runtime
from app.tenants import forge_service, forge_tokens
from app.tenants.auth import ForgeTrigger, forge_trigger
from app.worklogs import jobs, service
from app.worklogs.routes import webhook_ingestor
from forge.oauth import SYSTEM_TOKEN_HEADER

logger = logging.getLogger(__name__)

router = APIRouter(tags=["forge"])

SITE_NOT_READY = (
    "Worklog360 is still finding out which Jira site this Forge installation belongs to; "
    "Forge delivers the event again in a minute."
)


async def forge_events(request: Request) -> Response:
    runtime = get_runtime(request)
    claims = await forge_trigger(request, runtime)
    body = await request.body()  # at most W360_MAX_BODY_BYTES (app.body_limit)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise Unprocessable("The event body is not JSON.", code="invalid_event") from exc
    event = service.parse_forge_event(payload)
    if event is None:
        # Acknowledged, so that Forge does not retry an event this endpoint does not take.
        return Response(status_code=204)
    site = await forge_service.trigger_site(runtime, claims)
    if not site.installed:
        return Response(status_code=204)
    await forge_tokens.keep_system_token(
        runtime, claims.installation_id, request.headers.get(SYSTEM_TOKEN_HEADER)
    )
    if site.tenant is None:
        _in_background(runtime, forge_service.place_installation(runtime, claims.installation_id))
        return JSONResponse(error_body("site_not_ready", SITE_NOT_READY), status_code=503)
    await webhook_ingestor(request).ingest(site.tenant.id, event)
    return Response(status_code=204)


add_plain_route(router, "/forge/events", forge_events, methods=["POST"])


@router.post("/forge/scheduled", status_code=204)
async def scheduled(
    request: Request, invocation: ForgeTrigger, runtime: RuntimeDep, background: BackgroundTasks
) -> Response:
    """The hourly trigger: keeps a fresh system token, and reconciles the site (a site not
    placed yet is placed first, which starts its backfill). Twice in a row costs one
    reconciliation: a second request for a running sync makes it go round once more."""
    site = await forge_service.trigger_site(runtime, invocation)
    if not site.installed:
        return Response(status_code=204)
    await forge_tokens.keep_system_token(
        runtime, invocation.installation_id, request.headers.get(SYSTEM_TOKEN_HEADER)
    )
    if site.tenant is None:
        background.add_task(forge_service.place_installation, runtime, invocation.installation_id)
    else:
        background.add_task(jobs.request_sync, runtime, site.tenant.id)
    return Response(status_code=204)


def _in_background(runtime: Runtime, work: Coroutine[Any, Any, object]) -> None:
    """Run `work` after answering (a plain route has no BackgroundTasks): kept by the
    runtime until done, and awaited when the app stops."""
    task = asyncio.get_running_loop().create_task(work)
    runtime.background.add(task)
    task.add_done_callback(runtime.background.discard)
