"""Authentication dependencies for the kinds of route Jira and Forge call.

* pages: `?jwt=` with a real qsh (the iframe load);
* the JSON API: `Authorization: JWT` with a context token (`qsh` = `context-qsh`) or a
  qsh-bound token (Connect), or `Authorization: Bearer` with a Forge Invocation Token of a
  UI call (Forge's `invokeRemote`);
* Jira webhooks: `Authorization: JWT` with a real qsh;
* Forge's lifecycle endpoints: `Authorization: Bearer` with a FIT Forge sent itself.

Each yields a context: `ConnectContext`, `ForgeContext` (both `CallerContext`s) or, for
Forge's own calls, the verified `InvocationClaims`. Every failure is a 401 in the API's
error shape with a short reason, never a 500; all of it is decided before any data is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from app.dependencies import RuntimeDep, before_the_transaction
from app.errors import NotFound, Unauthorized
from app.observability.context import note_tenant
from app.tenants import forge_service, service
from app.tenants.service import CallerContext, ConnectContext
from connect.errors import AuthenticationError
from connect.install import InstallRequest, verify_install_token
from connect.qsh import query_string_hash
from connect.starlette import raw_path, raw_query, token_from_header, token_from_query
from connect.tokens import VerifiedClaims
from forge.errors import InvocationTokenError
from forge.invocation import InvocationClaims
from forge.oauth import SYSTEM_TOKEN_HEADER, USER_TOKEN_HEADER, bearer_token


def request_qsh(request: Request, app_base_url: str) -> str:
    return query_string_hash(request.method, raw_path(request), raw_query(request), app_base_url)


async def _authenticate(
    request: Request,
    runtime: RuntimeDep,
    *,
    token: str | None,
    accept_context_qsh: bool,
    require_active: bool = True,
) -> ConnectContext:
    if token is None:
        raise Unauthorized("This request needs a Jira JWT.", code="missing_token")
    try:
        context = await service.authenticate(
            runtime,
            token,
            expected_qsh=request_qsh(request, runtime.settings.base_url),
            accept_context_qsh=accept_context_qsh,
            require_active=require_active,
        )
    except AuthenticationError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc
    note_tenant(context.tenant.id, context.tenant.client_key)
    return context


def _token(reader: Callable[[Request], str | None], request: Request) -> str | None:
    try:
        return reader(request)
    except AuthenticationError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc


@before_the_transaction
async def page_context(request: Request, runtime: RuntimeDep) -> ConnectContext:
    token = _token(token_from_query, request)
    return await _authenticate(request, runtime, token=token, accept_context_qsh=False)


@before_the_transaction
async def api_context(request: Request, runtime: RuntimeDep) -> CallerContext:
    """A Connect JWT (the iframe's context token) or a Forge UI call's FIT: same routes."""
    header = request.headers.get("authorization")
    if header is not None and header[:7].lower() == "bearer ":
        claims = await verify_invocation(runtime, header)
        caller = await forge_service.api_caller(
            runtime,
            claims,
            system_token=request.headers.get(SYSTEM_TOKEN_HEADER),
            user_token=request.headers.get(USER_TOKEN_HEADER),
        )
        note_tenant(caller.tenant.id, caller.tenant.client_key)
        return caller
    if header is not None and header[:4].lower() != "jwt ":
        raise Unauthorized(
            "The Authorization header must be 'JWT <token>' (Connect) or 'Bearer <token>' (Forge).",
            code="invalid_token",
        )
    token = _token(token_from_header, request)
    return await _authenticate(request, runtime, token=token, accept_context_qsh=True)


async def verify_invocation(runtime: RuntimeDep, authorization: str | None) -> InvocationClaims:
    verifier = runtime.forge_verifier
    if verifier is None:
        raise Unauthorized(
            "This Worklog360 server does not take calls from the Forge app "
            "(W360_FORGE_APP_ID is not set).",
            code="forge_not_configured",
        )
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized(
            "This request needs 'Authorization: Bearer <Forge invocation token>'.",
            code="missing_token",
        )
    try:
        return await verifier.verify(token)
    except InvocationTokenError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc


@before_the_transaction
async def forge_trigger(request: Request, runtime: RuntimeDep) -> InvocationClaims:
    """Forge's own calls (lifecycle, events, schedules): a FIT without a person, from an
    endpoint module. A UI call's token, which a browser may hold (`requestRemote`), is
    refused here: a person must not be able to uninstall a site."""
    if runtime.forge_verifier is None:
        raise NotFound(
            "This Worklog360 server has no Forge app (W360_FORGE_APP_ID is not set).",
            code="forge_not_configured",
        )
    claims = await verify_invocation(runtime, request.headers.get("authorization"))
    if not claims.is_trigger:
        raise Unauthorized(
            "Only Forge itself may call this endpoint; the token is a UI call's.",
            code="forge_not_a_trigger",
        )
    return claims


@before_the_transaction
async def webhook_context(request: Request, runtime: RuntimeDep) -> ConnectContext:
    token = _token(token_from_header, request)
    return await _authenticate(request, runtime, token=token, accept_context_qsh=False)


@before_the_transaction
async def lifecycle_context(request: Request, runtime: RuntimeDep) -> ConnectContext:
    """`enabled`/`disabled`: signed with the shared secret and a real qsh, never a context
    token; accepted while the app is disabled, since that is when `enabled` arrives."""
    token = _token(token_from_header, request)
    return await _authenticate(
        request, runtime, token=token, accept_context_qsh=False, require_active=False
    )


PageContext = Annotated[ConnectContext, Depends(page_context)]
ApiContext = Annotated[CallerContext, Depends(api_context)]
ForgeTrigger = Annotated[InvocationClaims, Depends(forge_trigger)]
LifecycleContext = Annotated[ConnectContext, Depends(lifecycle_context)]


async def verify_signed_lifecycle(
    request: Request, runtime: RuntimeDep, client_key: str
) -> VerifiedClaims:
    """`installed`/`uninstalled`: an RS256 token signed by Atlassian (signed-install)."""
    token = _token(token_from_header, request)
    if token is None:
        raise Unauthorized("Lifecycle callbacks must be signed.", code="missing_token")
    try:
        return await verify_install_token(
            token,
            InstallRequest(
                method=request.method,
                path=raw_path(request),
                query=raw_query(request),
                client_key=client_key,
            ),
            keys=runtime.install_keys,
            app_base_url=runtime.settings.base_url,
            now=runtime.clock(),
        )
    except AuthenticationError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc
