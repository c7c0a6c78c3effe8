"""The Forge door's lifecycle endpoints, called by Forge itself with a FIT.

`POST /forge/lifecycle` takes `avi:forge:installed:app` and `avi:forge:upgraded:app`,
`POST /forge/uninstall` the `preUninstall` trigger. Both answer 204 once the change is
durable (Forge counts any other answer as a failure and retries events four times), and
both are idempotent: the installation in the FIT is what they act on, not the body, which
Forge does not sign.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, BackgroundTasks, Request, Response

from app.dependencies import RuntimeDep, SessionDep
from app.tenants import forge_service
from app.tenants.auth import ForgeTrigger
from forge.oauth import SYSTEM_TOKEN_HEADER, app_token

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/forge", tags=["forge"])

_LIFECYCLE_EVENTS = frozenset({forge_service.INSTALLED, forge_service.UPGRADED})


async def _event_type(request: Request) -> str | None:
    """The body's `eventType`, when it has one; a body Forge sends otherwise is fine."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    event = body.get("eventType") if isinstance(body, dict) else None
    return event if isinstance(event, str) else None


@router.post("/lifecycle", status_code=204)
async def lifecycle(
    request: Request,
    invocation: ForgeTrigger,
    runtime: RuntimeDep,
    session: SessionDep,
    background: BackgroundTasks,
) -> Response:
    event = await _event_type(request)
    if event is not None and event not in _LIFECYCLE_EVENTS:
        # Acknowledged, so that Forge does not retry an event this endpoint does not take.
        logger.info("forge lifecycle: %s is not a lifecycle event; ignored", event[:80])
        return Response(status_code=204)
    token = app_token(request.headers.get(SYSTEM_TOKEN_HEADER))
    await forge_service.record_installed(
        session, runtime.secrets, invocation, token, now=runtime.clock()
    )
    await _forget(runtime, invocation.installation_id, background)
    # Once committed: where the site is (Jira says), then its backfill.
    background.add_task(forge_service.place_installation, runtime, invocation.installation_id)
    return Response(status_code=204)


@router.post("/uninstall", status_code=204)
async def uninstall(
    invocation: ForgeTrigger,
    runtime: RuntimeDep,
    session: SessionDep,
    background: BackgroundTasks,
) -> Response:
    await forge_service.record_uninstalled(session, invocation, runtime.clock.now())
    await _forget(runtime, invocation.installation_id, background)
    return Response(status_code=204)


async def _forget(runtime: RuntimeDep, installation_id: str, background: BackgroundTasks) -> None:
    # Before the commit and again after it, so that a call racing the change cannot cache
    # the old state for the cache's lifetime (as the Connect lifecycle does).
    await forge_service.forget_site(runtime, installation_id)
    background.add_task(forge_service.forget_site, runtime, installation_id)
