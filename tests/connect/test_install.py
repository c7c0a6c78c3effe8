"""Signed install: RS256 lifecycle tokens verified against keys fetched by kid.

The key server is a real HTTP app (Starlette, route `/{kid}`) reached in-process through
`httpx.ASGITransport`; it counts the requests it serves.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connect.errors import AuthenticationError, InstallKeyUnavailableError, TokenExpiredError
from connect.install import InstallKeyStore, InstallRequest, verify_install_token
from connect.qsh import CONTEXT_QSH, query_string_hash

NOW = 1_750_000_000
KEYS_URL = "https://connect-install-keys.test"
KID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
APP_BASE_URL = "https://worklog360.example.com"
CLIENT_KEY = "jira:3c1f9a7e-client-key"
INSTALLED = InstallRequest(method="POST", path="/installed", query="", client_key=CLIENT_KEY)
DROP = object()

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def public_pem(private_key: Any) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class KeyServer:
    """Serves PEM public keys at `/{kid}` and records every request."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {KID: public_pem(RSA_KEY)}
        self.status = 200
        self.requests: list[str] = []
        self.app = Starlette(routes=[Route("/{kid}", self.serve)])

    async def serve(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        if self.status != 200:
            return Response("key server failure", status_code=self.status)
        key = self.keys.get(request.path_params["kid"])
        if key is None:
            return Response("no such key", status_code=404)
        return Response(key, media_type="application/x-pem-file")


@pytest.fixture
def key_server() -> KeyServer:
    return KeyServer()


@pytest.fixture
async def http(key_server: KeyServer) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=key_server.app)
    async with httpx.AsyncClient(transport=transport, base_url=KEYS_URL) as client:
        yield client


@pytest.fixture
def store(http: httpx.AsyncClient) -> InstallKeyStore:
    return InstallKeyStore(KEYS_URL, http)


def install_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of an `installed` callback token; pass `name=DROP` to leave one out."""
    base: dict[str, Any] = {
        "iss": CLIENT_KEY,
        "aud": [APP_BASE_URL],
        "sub": "addon_app-key",
        "qsh": query_string_hash("POST", "/installed"),
        "iat": NOW - 2,
        "exp": NOW + 178,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not DROP}


def rs256(payload: dict[str, Any], *, key: Any = RSA_KEY, kid: object = KID) -> str:
    if kid is DROP:
        return jwt.encode(payload, key, algorithm="RS256")
    if not isinstance(kid, str):  # PyJWT refuses to write such a header
        return hand_signed_rs256({"alg": "RS256", "typ": "JWT", "kid": kid}, payload)
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def hand_signed_rs256(header: dict[str, Any], payload: dict[str, Any]) -> str:
    def b64url(part: bytes) -> str:
        return base64.urlsafe_b64encode(part).rstrip(b"=").decode("ascii")

    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = RSA_KEY.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


async def verify(
    token: str,
    store: InstallKeyStore,
    *,
    request: InstallRequest = INSTALLED,
    base_url: str = APP_BASE_URL,
) -> Any:
    return await verify_install_token(token, request, keys=store, app_base_url=base_url, now=NOW)


# --- the happy path and caching --------------------------------------------------------------


async def test_valid_install_token_verifies(store: InstallKeyStore, key_server: KeyServer) -> None:
    verified = await verify(rs256(install_claims()), store)
    assert verified.issuer == CLIENT_KEY
    assert verified.qsh == query_string_hash("POST", "/installed")
    assert key_server.requests == [f"/{KID}"]


async def test_uninstalled_callback_verifies_with_its_own_qsh(store: InstallKeyStore) -> None:
    request = InstallRequest(method="POST", path="/uninstalled", query="", client_key=CLIENT_KEY)
    token = rs256(install_claims(qsh=query_string_hash("POST", "/uninstalled")))
    await verify(token, store, request=request)


async def test_lifecycle_qsh_is_relative_to_the_app_base_url_path(store: InstallKeyStore) -> None:
    base_url = "https://host.example.com/worklog360"
    request = InstallRequest("POST", "/worklog360/installed", "", CLIENT_KEY)
    token = rs256(install_claims(aud=[base_url], qsh=query_string_hash("POST", "/installed")))
    await verify(token, store, request=request, base_url=base_url)


async def test_audience_may_be_a_plain_string(store: InstallKeyStore) -> None:
    await verify(rs256(install_claims(aud=APP_BASE_URL)), store)


async def test_keys_are_cached_by_kid(store: InstallKeyStore, key_server: KeyServer) -> None:
    await verify(rs256(install_claims()), store)
    await verify(rs256(install_claims(sub="again")), store)
    assert key_server.requests == [f"/{KID}"]


async def test_each_kid_is_fetched_once(store: InstallKeyStore, key_server: KeyServer) -> None:
    key_server.keys["second-kid"] = public_pem(OTHER_RSA_KEY)
    await verify(rs256(install_claims()), store)
    await verify(rs256(install_claims(), key=OTHER_RSA_KEY, kid="second-kid"), store)
    await verify(rs256(install_claims(), key=OTHER_RSA_KEY, kid="second-kid"), store)
    assert key_server.requests == [f"/{KID}", "/second-kid"]


async def test_least_recently_used_key_is_evicted_beyond_max_keys(
    http: httpx.AsyncClient, key_server: KeyServer
) -> None:
    key_server.keys["second-kid"] = public_pem(OTHER_RSA_KEY)
    small = InstallKeyStore(KEYS_URL, http, max_keys=1)
    await small.public_key(KID)
    await small.public_key("second-kid")
    await small.public_key(KID)
    assert key_server.requests == [f"/{KID}", "/second-kid", f"/{KID}"]


async def test_trailing_slash_on_the_keys_url_is_not_doubled(
    http: httpx.AsyncClient, key_server: KeyServer
) -> None:
    await InstallKeyStore(KEYS_URL + "/", http).public_key(KID)
    assert key_server.requests == [f"/{KID}"]


# --- kids ------------------------------------------------------------------------------------


async def test_unknown_kid_is_unavailable_and_not_refetched_immediately(
    store: InstallKeyStore, key_server: KeyServer
) -> None:
    token = rs256(install_claims(), kid="unknown-kid")
    with pytest.raises(InstallKeyUnavailableError):
        await verify(token, store)
    with pytest.raises(InstallKeyUnavailableError):
        await verify(token, store)
    assert key_server.requests == ["/unknown-kid"]
    # A failed kid does not poison the others.
    await verify(rs256(install_claims()), store)


MALFORMED_KIDS = ["../x", "..", ".hidden", "a/b", "k" * 200, "%2e%2e", "kid\n", "a b", "k?x=1"]


@pytest.mark.parametrize("kid", MALFORMED_KIDS)
async def test_malformed_kid_is_rejected_without_any_fetch(
    kid: str, store: InstallKeyStore, key_server: KeyServer
) -> None:
    with pytest.raises(AuthenticationError):
        await verify(rs256(install_claims(), kid=kid), store)
    with pytest.raises(AuthenticationError):
        await store.public_key(kid)
    assert key_server.requests == []


@pytest.mark.parametrize("kid", ["", DROP, 42, None], ids=["empty", "missing", "number", "null"])
async def test_token_without_a_usable_kid_is_rejected_without_any_fetch(
    kid: object, store: InstallKeyStore, key_server: KeyServer
) -> None:
    with pytest.raises(AuthenticationError):
        await verify(rs256(install_claims(), kid=kid), store)
    assert key_server.requests == []


async def test_empty_kid_is_rejected_by_the_key_store(
    store: InstallKeyStore, key_server: KeyServer
) -> None:
    with pytest.raises(AuthenticationError):
        await store.public_key("")
    assert key_server.requests == []


# --- claims ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "aud",
    [
        ["https://other-app.example.com"],
        ["https://worklog360.example.com.evil.test"],
        ["https://worklog360.example.com/other"],
        "http://worklog360.example.com",
        DROP,
    ],
    ids=["other-app", "suffix-host", "sub-path", "http-scheme", "missing"],
)
async def test_token_for_another_audience_is_rejected(aud: object, store: InstallKeyStore) -> None:
    with pytest.raises(AuthenticationError):
        await verify(rs256(install_claims(aud=aud)), store)


async def test_audience_with_trailing_slash_is_accepted_when_base_url_has_none(
    store: InstallKeyStore,
) -> None:
    # ACE strips one trailing slash from aud[0] before comparing it with the base URL.
    await verify(rs256(install_claims(aud=[APP_BASE_URL + "/"])), store, base_url=APP_BASE_URL)


async def test_base_url_with_trailing_slash_accepts_audience_without_one(
    store: InstallKeyStore,
) -> None:
    await verify(rs256(install_claims(aud=[APP_BASE_URL])), store, base_url=APP_BASE_URL + "/")


async def test_issuer_other_than_the_body_client_key_is_rejected(store: InstallKeyStore) -> None:
    with pytest.raises(AuthenticationError):
        await verify(rs256(install_claims(iss="jira:someone-else")), store)


async def test_token_without_issuer_is_rejected(store: InstallKeyStore) -> None:
    with pytest.raises(AuthenticationError):
        await verify(rs256(install_claims(iss=DROP)), store)


@pytest.mark.parametrize(
    "qsh",
    [
        query_string_hash("POST", "/uninstalled"),
        query_string_hash("GET", "/installed"),
        query_string_hash("POST", "/installed", "x=1"),
        CONTEXT_QSH,
        "",
        DROP,
    ],
    ids=["other-lifecycle-path", "other-method", "extra-query", "context-qsh", "empty", "missing"],
)
async def test_token_for_another_request_is_rejected(qsh: object, store: InstallKeyStore) -> None:
    with pytest.raises(AuthenticationError):
        await verify(rs256(install_claims(qsh=qsh)), store)


async def test_expired_install_token_is_rejected(store: InstallKeyStore) -> None:
    with pytest.raises(TokenExpiredError):
        await verify(rs256(install_claims(iat=NOW - 600, exp=NOW - 31)), store)


@pytest.mark.parametrize("missing", ["exp", "iat"])
async def test_install_token_without_time_claims_is_rejected(
    missing: str, store: InstallKeyStore
) -> None:
    with pytest.raises(AuthenticationError):
        await verify(rs256(install_claims(**{missing: DROP})), store)


# --- signatures and keys ---------------------------------------------------------------------


async def test_hs256_signed_lifecycle_token_is_rejected_without_any_fetch(
    store: InstallKeyStore, key_server: KeyServer
) -> None:
    secret = b"a-shared-secret-that-is-long-enough-0123"
    token = jwt.encode(install_claims(), secret, algorithm="HS256", headers={"kid": KID})
    with pytest.raises(AuthenticationError):
        await verify(token, store)
    assert key_server.requests == []


async def test_token_signed_by_an_unknown_rsa_key_under_a_known_kid_is_rejected(
    store: InstallKeyStore,
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await verify(rs256(install_claims(), key=OTHER_RSA_KEY), store)
    assert not isinstance(caught.value, InstallKeyUnavailableError)


async def test_tampered_install_token_is_rejected(store: InstallKeyStore) -> None:
    header, _, signature = rs256(install_claims()).split(".")
    _, other_payload, _ = rs256(install_claims(iss="jira:attacker")).split(".")
    with pytest.raises(AuthenticationError):
        await verify(f"{header}.{other_payload}.{signature}", store)


async def test_key_that_is_not_rsa_is_rejected(
    store: InstallKeyStore, key_server: KeyServer
) -> None:
    key_server.keys["ec-kid"] = public_pem(EC_KEY)
    with pytest.raises(InstallKeyUnavailableError):
        await verify(rs256(install_claims(), kid="ec-kid"), store)


async def test_key_that_is_not_pem_is_rejected(
    store: InstallKeyStore, key_server: KeyServer
) -> None:
    key_server.keys["junk-kid"] = b"<html>not a key</html>"
    with pytest.raises(InstallKeyUnavailableError):
        await verify(rs256(install_claims(), kid="junk-kid"), store)


async def test_key_server_error_makes_the_key_unavailable(
    store: InstallKeyStore, key_server: KeyServer
) -> None:
    key_server.status = 500
    with pytest.raises(InstallKeyUnavailableError):
        await verify(rs256(install_claims()), store)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_unreachable_key_server_makes_the_key_unavailable() -> None:
    async with httpx.AsyncClient() as client:
        store = InstallKeyStore(closed_port_url(), client)
        with pytest.raises(InstallKeyUnavailableError):
            await verify(rs256(install_claims()), store)
