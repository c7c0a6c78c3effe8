"""A tiny Connect app for sandbox tests: it serves a descriptor and checks what Jira sends it
the way Worklog360 must, with the toolkit in `connect/` (RS256 signed install through
`verify_install_token`, HS256 + qsh for `enabled`/`disabled` and webhooks). It records what
it accepted and what it refused, so tests assert on what an app would observe."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from connect.errors import AuthenticationError
from connect.install import InstallKeyStore, InstallRequest, verify_install_token
from connect.qsh import context_path, query_string_hash
from connect.starlette import raw_path, raw_query, token_from_header
from connect.tokens import VerifiedClaims, read_unverified, verify_symmetric

APP_KEY = "com.worklog360.test"
WORKLOG_EVENTS = ("worklog_created", "worklog_updated", "worklog_deleted")


@dataclass
class Received:
    event: str
    payload: dict[str, Any]
    claims: VerifiedClaims


@dataclass
class ConnectApp:
    base_url: str = "https://w360.example/app"
    key: str = APP_KEY
    webhook_events: tuple[str, ...] = WORKLOG_EVENTS
    installed_status: int = 204
    secrets: dict[str, str] = field(default_factory=dict)
    lifecycle: list[Received] = field(default_factory=list)
    webhooks: list[Received] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    keys: InstallKeyStore | None = None

    @property
    def descriptor_url(self) -> str:
        return f"{self.base_url}/atlassian-connect.json"

    def descriptor(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": "Worklog360 (test)",
            "baseUrl": self.base_url,
            "authentication": {"type": "jwt"},
            "apiMigrations": {"signed-install": True, "context-qsh": True, "gdpr": True},
            "scopes": ["READ", "WRITE"],
            "lifecycle": {
                "installed": "/lifecycle/installed",
                "uninstalled": "/lifecycle/uninstalled",
                "enabled": "/lifecycle/enabled",
                "disabled": "/lifecycle/disabled",
            },
            "modules": {
                "webhooks": [
                    {"event": event, "url": "/webhooks/jira/worklog"}
                    for event in self.webhook_events
                ]
            },
        }

    def use_install_keys(self, jira_app: Any, keys_url: str) -> None:
        """Fetch signed-install keys from the sandbox, as the app does from Atlassian's CDN."""
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=jira_app))
        self.keys = InstallKeyStore(keys_url, http)

    def events(self) -> list[str]:
        return [r.event for r in self.lifecycle]

    # --- the ASGI app ------------------------------------------------------------------------

    @cached_property
    def asgi(self) -> Starlette:
        routes = [
            Route("/atlassian-connect.json", self._descriptor),
            Route("/lifecycle/{event}", self._lifecycle, methods=["POST"]),
            Route("/webhooks/jira/worklog", self._webhook, methods=["POST"]),
        ]
        prefix = context_path(self.base_url)
        return Starlette(routes=[Mount(prefix, routes=routes)] if prefix else routes)

    async def _descriptor(self, request: Request) -> Response:
        return JSONResponse(self.descriptor())

    def _qsh(self, request: Request) -> str:
        return query_string_hash(
            request.method, raw_path(request), raw_query(request), self.base_url
        )

    def _refuse(self, request: Request, error: Exception) -> Response:
        self.refused.append((request.url.path, str(error)))
        return JSONResponse({"error": str(error)}, status_code=401)

    async def _lifecycle(self, request: Request) -> Response:
        event = request.path_params["event"]
        payload = await request.json()
        try:
            token = token_from_header(request)
            if token is None:
                raise AuthenticationError("no token")
            if event in ("installed", "uninstalled"):
                assert self.keys is not None, "call use_install_keys first"
                claims = await verify_install_token(
                    token,
                    InstallRequest(
                        "POST", raw_path(request), raw_query(request), str(payload.get("clientKey"))
                    ),
                    keys=self.keys,
                    app_base_url=self.base_url,
                )
            else:
                claims = self._verify_hs256(token, request)
        except AuthenticationError as error:
            return self._refuse(request, error)
        if event == "installed":
            if self.installed_status >= 300:
                return Response(status_code=self.installed_status)
            self.secrets[payload["clientKey"]] = payload["sharedSecret"]
        self.lifecycle.append(Received(event, payload, claims))
        return Response(status_code=self.installed_status if event == "installed" else 204)

    def _verify_hs256(self, token: str, request: Request) -> VerifiedClaims:
        issuer = read_unverified(token).issuer
        secret = self.secrets.get(issuer)
        if secret is None:
            raise AuthenticationError("unknown clientKey")
        return verify_symmetric(token, secret, expected_qsh=self._qsh(request))

    async def _webhook(self, request: Request) -> Response:
        payload = await request.json()
        try:
            token = token_from_header(request)
            if token is None:
                raise AuthenticationError("no token")
            claims = self._verify_hs256(token, request)
        except AuthenticationError as error:
            return self._refuse(request, error)
        self.webhooks.append(Received(payload["webhookEvent"], payload, claims))
        return Response(status_code=204)
