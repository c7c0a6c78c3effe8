"""Authentication dependencies for the three kinds of route Jira calls.

* pages: `?jwt=` with a real qsh (the iframe load);
* the JSON API: `Authorization: JWT` with a context token (`qsh` = `context-qsh`) or a
  qsh-bound token;
* Jira webhooks: `Authorization: JWT` with a real qsh.

Each yields a `ConnectContext`. Every failure is a 401 in the API's error shape with a short
reason, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from app.dependencies import RuntimeDep
from app.errors import Unauthorized
from app.tenants import service
from app.tenants.service import ConnectContext
from connect.errors import AuthenticationError
from connect.install import InstallRequest, verify_install_token
from connect.qsh import query_string_hash
from connect.starlette import raw_path, raw_query, token_from_header, token_from_query
from connect.tokens import VerifiedClaims


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
        return await service.authenticate(
            runtime,
            token,
            expected_qsh=request_qsh(request, runtime.settings.base_url),
            accept_context_qsh=accept_context_qsh,
            require_active=require_active,
        )
    except AuthenticationError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc


def _token(reader: Callable[[Request], str | None], request: Request) -> str | None:
    try:
        return reader(request)
    except AuthenticationError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc


async def page_context(request: Request, runtime: RuntimeDep) -> ConnectContext:
    token = _token(token_from_query, request)
    return await _authenticate(request, runtime, token=token, accept_context_qsh=False)


async def api_context(request: Request, runtime: RuntimeDep) -> ConnectContext:
    token = _token(token_from_header, request)
    return await _authenticate(request, runtime, token=token, accept_context_qsh=True)


async def webhook_context(request: Request, runtime: RuntimeDep) -> ConnectContext:
    token = _token(token_from_header, request)
    return await _authenticate(request, runtime, token=token, accept_context_qsh=False)


async def lifecycle_context(request: Request, runtime: RuntimeDep) -> ConnectContext:
    """`enabled`/`disabled`: signed with the shared secret and a real qsh, never a context
    token; accepted while the app is disabled, since that is when `enabled` arrives."""
    token = _token(token_from_header, request)
    return await _authenticate(
        request, runtime, token=token, accept_context_qsh=False, require_active=False
    )


PageContext = Annotated[ConnectContext, Depends(page_context)]
ApiContext = Annotated[ConnectContext, Depends(api_context)]
WebhookContext = Annotated[ConnectContext, Depends(webhook_context)]
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
        )
    except AuthenticationError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc
