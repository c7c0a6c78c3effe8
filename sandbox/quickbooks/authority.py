"""Intuit's OAuth 2.0 authorization server: registered clients, the user's consent, one-use
authorization codes, access tokens (1 h) and rotating refresh tokens (~100 days, rolling).

A `Grant` is one connection of a client to a realm. Every token issued from one
authorization code belongs to its grant, so revoking the grant (code replayed, user
disconnected, `/revoke`) kills them all. Rotation is strict: each refresh issues a new
refresh token and the previous one answers `invalid_grant` at once.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode, urlsplit

from sandbox.quickbooks.clock import SandboxClock
from sandbox.quickbooks.errors import AuthFault, OAuthError

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
KNOWN_SCOPES = frozenset(
    {
        ACCOUNTING_SCOPE,
        "com.intuit.quickbooks.payment",
        "openid",
        "profile",
        "email",
        "phone",
        "address",
    }
)
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8_726_400  # the ~101 days Intuit was seen answering
AUTHORIZATION_CODE_SECONDS = 600  # not documented; a short window

WebhookFormat = Literal["legacy", "cloudevents"]


@dataclass(slots=True)
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    webhook_url: str | None = None
    verifier_token: str | None = None
    webhook_format: WebhookFormat = "legacy"


@dataclass(slots=True)
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    realm_id: str
    scope: str
    expires_at: float
    used: bool = False
    grant_id: int | None = None


@dataclass(slots=True)
class Grant:
    id: int
    client_id: str
    realm_id: str
    scope: str
    refresh_token: str
    refresh_expires_at: float
    access_tokens: dict[str, float] = field(default_factory=dict)
    revoked: bool = False
    refreshes: int = 0
    fail_next_refresh: bool = False
    retired_refresh_tokens: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Consent:
    """What the "user" does on Intuit's consent screen next: approve for a realm, or deny."""

    realm_id: str | None = None
    deny: bool = False


class AuthorizeRejected(Exception):
    """An authorize request Intuit cannot redirect back (unknown client or redirect URI)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Authority:
    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.clients: dict[str, OAuthClient] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.grants: dict[int, Grant] = {}
        self.consent = Consent()
        self.realm_ids: list[str] = []  # kept in step by the sandbox
        self.refresh_attempts = 0
        self._grant_ids = itertools.count(1)
        self._by_refresh: dict[str, int] = {}
        self._by_access: dict[str, int] = {}

    # --- clients -----------------------------------------------------------------------------

    def register_client(self, client: OAuthClient) -> OAuthClient:
        self.clients[client.client_id] = client
        return client

    def _client_from_basic(self, authorization: str | None) -> OAuthClient:
        if not authorization or not authorization.lower().startswith("basic "):
            raise OAuthError(401, "invalid_client")
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError(401, "invalid_client") from exc
        client_id, _, secret = decoded.partition(":")
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, secret):
            raise OAuthError(401, "invalid_client")
        return client

    # --- authorize ---------------------------------------------------------------------------

    def authorize(self, params: dict[str, str]) -> str:
        """The URL Intuit redirects the browser to, or `AuthorizeRejected`."""
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise AuthorizeRejected("Invalid client_id: the app is not registered.")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise AuthorizeRejected(
                "The redirect_uri query parameter value is invalid. Make sure it is listed in "
                "the Redirect URIs section on your app's keys tab and matches it exactly."
            )
        state = params.get("state")

        def back(**values: str) -> str:
            if state is not None:
                values["state"] = state
            sep = "&" if urlsplit(redirect_uri).query else "?"
            return redirect_uri + sep + urlencode(values)

        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        scopes = params.get("scope", "").split()
        if ACCOUNTING_SCOPE not in scopes or not set(scopes) <= KNOWN_SCOPES:
            return back(error="invalid_scope")
        if not state:
            return back(error="invalid_request", error_description="state is required")
        consent, self.consent = self.consent, Consent(realm_id=self.consent.realm_id)
        if consent.deny:
            return back(error="access_denied")
        realm_id = consent.realm_id or (self.realm_ids[0] if self.realm_ids else None)
        if realm_id is None:
            raise AuthorizeRejected("The sandbox has no company to connect.")
        code = "AB" + secrets.token_urlsafe(30)
        self.codes[code] = AuthorizationCode(
            code=code,
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            realm_id=realm_id,
            scope=" ".join(scopes),
            expires_at=self.clock.now_s() + AUTHORIZATION_CODE_SECONDS,
        )
        return back(code=code, realmId=realm_id)

    # --- token endpoint ----------------------------------------------------------------------

    def token(self, authorization: str | None, form: dict[str, str]) -> dict[str, object]:
        client = self._client_from_basic(authorization)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(client, form)
        if grant_type == "refresh_token":
            return self._refresh(client, form)
        if not grant_type:
            raise OAuthError(400, "invalid_request", "grant_type is required")
        raise OAuthError(400, "unsupported_grant_type")

    def _exchange_code(self, client: OAuthClient, form: dict[str, str]) -> dict[str, object]:
        code = self.codes.get(form.get("code", ""))
        if code is None or code.client_id != client.client_id:
            raise OAuthError(400, "invalid_grant")
        if code.used:
            # Intuit treats a replayed code as fraud: the tokens it gave are revoked too.
            if code.grant_id is not None:
                self._revoke_grant(self.grants[code.grant_id])
            raise OAuthError(400, "invalid_grant")
        code.used = True
        if self.clock.now_s() > code.expires_at:
            raise OAuthError(400, "invalid_grant")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError(400, "invalid_grant", "redirect_uri does not match")
        grant = Grant(
            id=next(self._grant_ids),
            client_id=client.client_id,
            realm_id=code.realm_id,
            scope=code.scope,
            refresh_token="",
            refresh_expires_at=0.0,
        )
        self.grants[grant.id] = grant
        code.grant_id = grant.id
        return self._issue(grant)

    def _refresh(self, client: OAuthClient, form: dict[str, str]) -> dict[str, object]:
        self.refresh_attempts += 1
        token = form.get("refresh_token", "")
        if not token:
            raise OAuthError(400, "invalid_request", "refresh_token is required")
        grant_id = self._by_refresh.get(token)
        grant = self.grants.get(grant_id) if grant_id is not None else None
        if grant is None or grant.client_id != client.client_id or grant.revoked:
            raise OAuthError(400, "invalid_grant", "Incorrect or invalid refresh token")
        if token != grant.refresh_token:
            raise OAuthError(400, "invalid_grant", "Refresh token not found")
        if self.clock.now_s() >= grant.refresh_expires_at:
            raise OAuthError(400, "invalid_grant", "Refresh token expired")
        if grant.fail_next_refresh:
            self._revoke_grant(grant)
            raise OAuthError(400, "invalid_grant", "Incorrect or invalid refresh token")
        grant.refreshes += 1
        return self._issue(grant)

    def _issue(self, grant: Grant) -> dict[str, object]:
        now = self.clock.now_s()
        if grant.refresh_token:
            grant.retired_refresh_tokens.add(grant.refresh_token)
        grant.refresh_token = "AB11" + secrets.token_urlsafe(36)
        grant.refresh_expires_at = now + REFRESH_TOKEN_SECONDS
        self._by_refresh[grant.refresh_token] = grant.id
        access = "eyJ" + secrets.token_urlsafe(60)
        grant.access_tokens[access] = now + ACCESS_TOKEN_SECONDS
        self._by_access[access] = grant.id
        return {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": grant.refresh_token,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "x_refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
        }

    # --- revoke ------------------------------------------------------------------------------

    def revoke(self, authorization: str | None, token: str) -> None:
        client = self._client_from_basic(authorization)
        grant_id = self._by_refresh.get(token, self._by_access.get(token))
        grant = self.grants.get(grant_id) if grant_id is not None else None
        if grant is not None and grant.client_id == client.client_id:
            self._revoke_grant(grant)

    def _revoke_grant(self, grant: Grant) -> None:
        grant.revoked = True

    # --- API authentication ------------------------------------------------------------------

    def authenticate(self, authorization: str | None, realm_id: str) -> Grant:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthFault(401, "Token validation failed: no bearer token")
        token = authorization[7:].strip()
        grant_id = self._by_access.get(token)
        grant = self.grants.get(grant_id) if grant_id is not None else None
        if grant is None:
            raise AuthFault(401, "Token validation failed: unknown token")
        if grant.revoked:
            raise AuthFault(401, "Token revoked")
        if self.clock.now_s() >= grant.access_tokens[token]:
            raise AuthFault(401, "Token expired: " + token[:12] + "…")
        if grant.realm_id != realm_id:
            raise AuthFault(403, "")
        if ACCOUNTING_SCOPE not in grant.scope.split():
            raise AuthFault(403, "The token does not carry the accounting scope")
        return grant

    # --- test hooks --------------------------------------------------------------------------

    def grants_for(self, realm_id: str | None = None, *, live: bool = True) -> list[Grant]:
        return [
            g
            for g in self.grants.values()
            if (realm_id is None or g.realm_id == realm_id) and (not live or not g.revoked)
        ]

    def disconnect(self, realm_id: str) -> int:
        """The user disconnected the app in QuickBooks: every token of the realm dies."""
        grants = self.grants_for(realm_id)
        for grant in grants:
            self._revoke_grant(grant)
        return len(grants)

    def fail_next_refresh(self, realm_id: str) -> None:
        """The next refresh of the realm's connection answers invalid_grant (and ends it)."""
        for grant in self.grants_for(realm_id):
            grant.fail_next_refresh = True

    def expire_access_tokens(self, realm_id: str | None = None) -> None:
        now = self.clock.now_s()
        for grant in self.grants_for(realm_id):
            for token in grant.access_tokens:
                grant.access_tokens[token] = min(grant.access_tokens[token], now)

    def expire_refresh_tokens(self, realm_id: str | None = None) -> None:
        now = self.clock.now_s()
        for grant in self.grants_for(realm_id):
            grant.refresh_expires_at = min(grant.refresh_expires_at, now)

    def refresh_count(self, realm_id: str | None = None) -> int:
        """Successful refreshes (for one realm or all)."""
        return sum(g.refreshes for g in self.grants_for(realm_id, live=False))

    def connected_clients(self, realm_id: str) -> list[OAuthClient]:
        ids = {g.client_id for g in self.grants_for(realm_id)}
        return [self.clients[i] for i in sorted(ids) if i in self.clients]
