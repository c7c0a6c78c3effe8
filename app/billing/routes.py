"""Billing API: settings and clients. Reading is open to every user of the site; changing
needs Jira's ADMINISTER permission or the billing group."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.billing import service
from app.billing.schemas import (
    ClientIn,
    ClientOut,
    ClientPage,
    ClientPatch,
    SettingsOut,
    SettingsPatch,
)
from app.dependencies import RuntimeDep, SessionDep
from app.tenants.auth import ApiContext
from app.tenants.permissions import require_billing_editor

router = APIRouter(prefix="/api", tags=["billing"])


async def _require_editor(runtime: RuntimeDep, session: SessionDep, context: ApiContext) -> None:
    settings = await service.get_settings(session, context.tenant.id)
    await require_billing_editor(runtime, context, settings.billing_group)


@router.get("/settings", response_model=SettingsOut)
async def read_settings(context: ApiContext, session: SessionDep) -> SettingsOut:
    return SettingsOut.of(await service.get_settings(session, context.tenant.id))


@router.patch("/settings", response_model=SettingsOut)
async def change_settings(
    patch: SettingsPatch, context: ApiContext, session: SessionDep, runtime: RuntimeDep
) -> SettingsOut:
    await _require_editor(runtime, session, context)
    return SettingsOut.of(await service.update_settings(session, context.tenant.id, patch))


@router.get("/clients", response_model=ClientPage)
async def list_clients(
    context: ApiContext,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ClientPage:
    clients, next_cursor = await service.list_clients(
        session, context.tenant.id, cursor=cursor, limit=limit, query=q
    )
    return ClientPage(items=[ClientOut.of(c) for c in clients], next_cursor=next_cursor)


@router.post("/clients", response_model=ClientOut, status_code=201)
async def create_client(
    data: ClientIn, context: ApiContext, session: SessionDep, runtime: RuntimeDep
) -> ClientOut:
    await _require_editor(runtime, session, context)
    return ClientOut.of(await service.create_client(session, context.tenant.id, data))


@router.get("/clients/{client_id}", response_model=ClientOut)
async def read_client(client_id: int, context: ApiContext, session: SessionDep) -> ClientOut:
    return ClientOut.of(await service.get_client(session, context.tenant.id, client_id))


@router.patch("/clients/{client_id}", response_model=ClientOut)
async def change_client(
    client_id: int,
    patch: ClientPatch,
    context: ApiContext,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ClientOut:
    await _require_editor(runtime, session, context)
    return ClientOut.of(await service.update_client(session, context.tenant.id, client_id, patch))


@router.delete("/clients/{client_id}", status_code=204)
async def delete_client(
    client_id: int, context: ApiContext, session: SessionDep, runtime: RuntimeDep
) -> Response:
    await _require_editor(runtime, session, context)
    await service.delete_client(session, context.tenant.id, client_id)
    return Response(status_code=204)
