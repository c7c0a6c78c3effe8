"""The Connect surface: the descriptor and the four lifecycle callbacks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response

from app import surface
from app.dependencies import RuntimeDep, SessionDep
from app.tenants import service
from app.tenants.auth import LifecycleContext, verify_signed_lifecycle
from app.tenants.schemas import LifecyclePayload

router = APIRouter(tags=["connect"])


@router.get("/atlassian-connect.json")
async def descriptor(runtime: RuntimeDep) -> dict[str, Any]:
    return surface.connect_descriptor(runtime.settings.base_url, runtime.settings.app_key)


@router.post("/lifecycle/installed", status_code=204)
async def installed(
    payload: LifecyclePayload,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    background: BackgroundTasks,
) -> Response:
    claims = await verify_signed_lifecycle(request, runtime, payload.client_key)
    service.check_installation_payload(
        payload,
        app_key=runtime.settings.app_key,
        allowed_hosts=runtime.settings.allowed_jira_hosts,
    )
    await service.record_installed(session, runtime.secrets, payload, claims)
    await forget_credentials(runtime, payload.client_key, background)
    return Response(status_code=204)


@router.post("/lifecycle/uninstalled", status_code=204)
async def uninstalled(
    payload: LifecyclePayload,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    background: BackgroundTasks,
) -> Response:
    claims = await verify_signed_lifecycle(request, runtime, payload.client_key)
    await service.record_uninstalled(session, payload.client_key, claims, runtime.clock.now())
    await forget_credentials(runtime, payload.client_key, background)
    return Response(status_code=204)


@router.post("/lifecycle/enabled", status_code=204)
async def enabled(
    payload: LifecyclePayload,
    context: LifecycleContext,
    session: SessionDep,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> Response:
    service.check_lifecycle_issuer(context, payload)
    await forget_credentials(runtime, payload.client_key, background)
    if await service.record_enabled(session, payload.client_key, True, context.claims):
        # Jira sends `enabled` once the install is complete: the first moment the app may
        # call Jira with the new secret, so the worklog backfill starts here.
        background.add_task(service.announce_enabled, runtime, context.tenant.id)
    return Response(status_code=204)


@router.post("/lifecycle/disabled", status_code=204)
async def disabled(
    payload: LifecyclePayload,
    context: LifecycleContext,
    session: SessionDep,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> Response:
    service.check_lifecycle_issuer(context, payload)
    await service.record_enabled(session, payload.client_key, False, context.claims)
    await forget_credentials(runtime, payload.client_key, background)
    return Response(status_code=204)


async def forget_credentials(
    runtime: RuntimeDep, client_key: str, background: BackgroundTasks
) -> None:
    await service.forget_credentials(runtime, client_key)
    background.add_task(service.forget_credentials, runtime, client_key)
