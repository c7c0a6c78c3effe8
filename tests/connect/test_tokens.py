"""Connect JWT verification and signing: algorithm pinning, time claims, qsh binding."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connect.errors import AuthenticationError, TokenExpiredError
from connect.install import InstallKeyStore, InstallRequest, verify_install_token
from connect.qsh import CONTEXT_QSH, query_string_hash, query_string_hash_for_url
from connect.tokens import (
    LEEWAY_SECONDS,
    OUTBOUND_LIFETIME_SECONDS,
    read_unverified,
    sign_request,
    sign_symmetric,
    verify_symmetric,
)

NOW = 1_750_000_000
SECRET = "tenant-shared-secret-5f0c1e0a9b8d4c7e"
CLIENT_KEY = "jira:8f7d3c2a-client-key"
QSH = query_string_hash("GET", "/page", "a=1")
DROP = object()

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def claims(**overrides: Any) -> dict[str, Any]:
    """Typical inbound claims; pass `name=DROP` to leave one out."""
    base: dict[str, Any] = {
        "iss": CLIENT_KEY,
        "sub": "557058:account-id",
        "iat": NOW - 5,
        "exp": NOW + 175,
        "qsh": QSH,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not DROP}


def hs256(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret.encode("utf-8"), algorithm="HS256")


def b64url(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def forge(header: dict[str, Any], payload: dict[str, Any], hmac_key: bytes | None) -> str:
    """Build a token by hand (PyJWT refuses to make the malicious ones)."""
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    if hmac_key is None:
        return signing_input + "."
    digest = hmac.new(hmac_key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(digest)}"


def verify(token: str, **kwargs: Any) -> Any:
    kwargs.setdefault("expected_qsh", QSH)
    kwargs.setdefault("now", NOW)
    return verify_symmetric(token, SECRET, **kwargs)


# --- round trips -----------------------------------------------------------------------------


def test_signed_token_round_trips_through_verification() -> None:
    token = sign_symmetric({"iss": CLIENT_KEY, "sub": "acc", "qsh": QSH}, SECRET, now=NOW)
    verified = verify(token)
    assert verified.issuer == CLIENT_KEY
    assert verified.subject == "acc"
    assert verified.qsh == QSH
    assert verified.issued_at == NOW
    assert verified.expires_at == NOW + OUTBOUND_LIFETIME_SECONDS
    assert not verified.is_context_token


def test_sign_symmetric_uses_hs256_and_a_three_minute_lifetime() -> None:
    token = sign_symmetric({"iss": "app-key"}, SECRET, now=NOW)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["iat"] == NOW
    assert payload["exp"] - payload["iat"] == 180


def test_sign_request_binds_the_token_to_method_path_and_query() -> None:
    url = "https://example.atlassian.net/rest/api/3/project/recent?b=2&a=1"
    token = sign_request("get", url, issuer="app-key", shared_secret=SECRET, now=NOW)
    payload = jwt.decode(
        token, SECRET.encode(), algorithms=["HS256"], options={"verify_exp": False}
    )
    assert payload["iss"] == "app-key"
    assert payload["qsh"] == hashlib.sha256(b"GET&/rest/api/3/project/recent&a=1&b=2").hexdigest()
    assert payload["exp"] == NOW + 180


def test_sign_request_hashes_the_path_relative_to_the_product_base_url() -> None:
    token = sign_request(
        "GET",
        "https://example.atlassian.net/wiki/rest/api/space",
        issuer="app-key",
        shared_secret=SECRET,
        base_url="https://example.atlassian.net/wiki",
        extra_claims={"aud": [CLIENT_KEY]},
        now=NOW,
    )
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["qsh"] == hashlib.sha256(b"GET&/rest/api/space&").hexdigest()
    assert payload["aud"] == [CLIENT_KEY]


def test_token_signed_for_a_request_verifies_for_that_request() -> None:
    url = "https://app.example.com/page?a=1&jwt=ignored"
    token = sign_request("GET", url, issuer=CLIENT_KEY, shared_secret=SECRET, now=NOW)
    verify(token, expected_qsh=query_string_hash_for_url("GET", url))


def test_product_token_carrying_an_aud_claim_is_accepted() -> None:
    verify(hs256(claims(aud=[CLIENT_KEY])))


def test_missing_sub_gives_no_subject() -> None:
    assert verify(hs256(claims(sub=DROP))).subject is None


# --- read_unverified -------------------------------------------------------------------------


def test_read_unverified_reports_algorithm_issuer_and_kid() -> None:
    token = jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": "kid-1"})
    unverified = read_unverified(token)
    assert (unverified.algorithm, unverified.issuer, unverified.key_id) == (
        "RS256",
        CLIENT_KEY,
        "kid-1",
    )


def test_read_unverified_treats_an_empty_kid_as_none() -> None:
    token = jwt.encode(claims(), SECRET.encode(), algorithm="HS256", headers={"kid": ""})
    assert read_unverified(token).key_id is None


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "a.b", "e30.e30.e30.e30"])
def test_read_unverified_rejects_malformed_tokens(token: str) -> None:
    with pytest.raises(AuthenticationError):
        read_unverified(token)


@pytest.mark.parametrize("issuer", [DROP, "", 42])
def test_read_unverified_requires_a_string_issuer(issuer: object) -> None:
    with pytest.raises(AuthenticationError):
        read_unverified(forge({"alg": "HS256", "typ": "JWT"}, claims(iss=issuer), b"k" * 32))


# --- algorithm confusion ---------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_alg_none_token_is_rejected(alg: str) -> None:
    with pytest.raises(AuthenticationError):
        verify(forge({"alg": alg, "typ": "JWT"}, claims(), None))


def test_token_signed_with_another_secret_is_rejected() -> None:
    with pytest.raises(AuthenticationError):
        verify(hs256(claims(), secret="some-other-tenant-secret-abcdefghijkl"))


def test_rs256_token_is_rejected_where_hs256_is_expected() -> None:
    token = jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": "kid-1"})
    with pytest.raises(AuthenticationError):
        verify(token)


@pytest.fixture
async def key_store() -> AsyncIterator[tuple[InstallKeyStore, list[str]]]:
    fetched: list[str] = []

    async def serve_key(request: Request) -> Response:
        fetched.append(request.path_params["kid"])
        return Response(PUBLIC_PEM, media_type="application/x-pem-file")

    app = Starlette(routes=[Route("/{kid}", serve_key)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://keys.test") as http:
        yield InstallKeyStore("https://keys.test", http), fetched


async def test_hs256_token_keyed_with_the_rsa_public_key_pem_is_rejected_for_install(
    key_store: tuple[InstallKeyStore, list[str]],
) -> None:
    store, fetched = key_store
    base_url = "https://app.example.com"
    lifecycle = claims(aud=[base_url], qsh=query_string_hash("POST", "/installed"))
    header = {"alg": "HS256", "typ": "JWT", "kid": "kid-1"}
    token = forge(header, lifecycle, PUBLIC_PEM)
    request = InstallRequest(method="POST", path="/installed", query="", client_key=CLIENT_KEY)
    with pytest.raises(AuthenticationError):
        await verify_install_token(token, request, keys=store, app_base_url=base_url, now=NOW)
    assert fetched == []
    # The same claims signed properly do verify, so the rejection is about the algorithm.
    good = jwt.encode(lifecycle, RSA_KEY, algorithm="RS256", headers={"kid": "kid-1"})
    await verify_install_token(good, request, keys=store, app_base_url=base_url, now=NOW)


# --- time claims -----------------------------------------------------------------------------


def test_expired_token_beyond_the_leeway_raises_token_expired() -> None:
    token = hs256(claims(iat=NOW - 300, exp=NOW - LEEWAY_SECONDS - 1))
    with pytest.raises(TokenExpiredError):
        verify(token)


def test_token_expired_within_the_leeway_is_accepted() -> None:
    verify(hs256(claims(iat=NOW - 300, exp=NOW - LEEWAY_SECONDS + 1)))


def test_leeway_is_thirty_seconds() -> None:
    assert LEEWAY_SECONDS == 30


def test_token_issued_in_the_future_beyond_the_leeway_is_rejected() -> None:
    token = hs256(claims(iat=NOW + LEEWAY_SECONDS + 1, exp=NOW + 300))
    with pytest.raises(AuthenticationError) as caught:
        verify(token)
    assert not isinstance(caught.value, TokenExpiredError)


def test_token_issued_slightly_in_the_future_is_accepted() -> None:
    verify(hs256(claims(iat=NOW + LEEWAY_SECONDS - 1, exp=NOW + 300)))


def test_token_not_valid_before_a_future_nbf_is_rejected() -> None:
    with pytest.raises(AuthenticationError):
        verify(hs256(claims(nbf=NOW + LEEWAY_SECONDS + 60)))


@pytest.mark.parametrize("missing", ["exp", "iat", "iss"])
def test_token_without_a_required_claim_is_rejected(missing: str) -> None:
    with pytest.raises(AuthenticationError):
        verify(hs256(claims(**{missing: DROP})))


@pytest.mark.parametrize(
    "times",
    [{"exp": True}, {"iat": True}, {"exp": "9999999999"}, {"iat": None}, {"exp": [NOW + 60]}],
    ids=["bool-exp", "bool-iat", "string-exp", "null-iat", "list-exp"],
)
def test_time_claims_that_are_not_numbers_are_rejected(times: dict[str, Any]) -> None:
    with pytest.raises(AuthenticationError):
        verify(hs256(claims(**times)))


# --- qsh -------------------------------------------------------------------------------------


def test_token_with_the_wrong_qsh_is_rejected() -> None:
    with pytest.raises(AuthenticationError):
        verify(hs256(claims(qsh=query_string_hash("GET", "/page", "a=2"))))


@pytest.mark.parametrize("qsh", [DROP, "", None, 123])
def test_token_without_a_usable_qsh_is_rejected(qsh: object) -> None:
    with pytest.raises(AuthenticationError):
        verify(hs256(claims(qsh=qsh)))


def test_context_token_is_refused_where_a_real_qsh_is_required() -> None:
    with pytest.raises(AuthenticationError):
        verify(hs256(claims(qsh=CONTEXT_QSH)))


def test_context_token_is_accepted_on_a_context_route() -> None:
    verified = verify(hs256(claims(qsh=CONTEXT_QSH)), expected_qsh=None, accept_context_qsh=True)
    assert verified.is_context_token


def test_real_qsh_token_is_refused_on_a_context_only_route() -> None:
    with pytest.raises(AuthenticationError):
        verify(hs256(claims()), expected_qsh=None, accept_context_qsh=True)


def test_real_qsh_token_is_refused_when_no_qsh_is_expected() -> None:
    with pytest.raises(AuthenticationError):
        verify(hs256(claims()), expected_qsh=None)


def test_route_accepting_both_kinds_still_checks_the_real_qsh() -> None:
    verify(hs256(claims()), accept_context_qsh=True)
    with pytest.raises(AuthenticationError):
        verify(hs256(claims(qsh="0" * 64)), accept_context_qsh=True)


def test_token_for_one_url_replayed_on_another_url_is_rejected() -> None:
    url = "https://app.example.com/page?a=1"
    token = sign_request("GET", url, issuer=CLIENT_KEY, shared_secret=SECRET, now=NOW)
    for method, other in [
        ("GET", "https://app.example.com/admin?a=1"),
        ("GET", "https://app.example.com/page?a=1&b=2"),
        ("POST", url),
    ]:
        with pytest.raises(AuthenticationError):
            verify(token, expected_qsh=query_string_hash_for_url(method, other))


# --- tampering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"iss": "jira:another-tenant"}, {"exp": NOW + 10_000}, {"qsh": CONTEXT_QSH}, {"sub": "admin"}],
)
def test_changing_a_claim_but_keeping_the_signature_is_rejected(change: dict[str, Any]) -> None:
    header, _, signature = hs256(claims()).split(".")
    tampered = f"{header}.{b64url(claims(**change))}.{signature}"
    with pytest.raises(AuthenticationError):
        verify(tampered, accept_context_qsh=True)


def test_changing_the_header_but_keeping_the_signature_is_rejected() -> None:
    _, payload, signature = hs256(claims()).split(".")
    tampered = f"{b64url({'alg': 'HS256', 'typ': 'JWT', 'kid': 'x'})}.{payload}.{signature}"
    with pytest.raises(AuthenticationError):
        verify(tampered)


# --- error messages --------------------------------------------------------------------------


def _rejected_tokens() -> list[tuple[str, dict[str, Any]]]:
    good = hs256(claims())
    head, body, _ = good.split(".")
    return [
        (hs256(claims(), secret="wrong-secret-0123456789-abcdefghijkl"), {}),
        (hs256(claims(exp=NOW - 3600, iat=NOW - 4000)), {}),
        (hs256(claims(qsh="f" * 64)), {}),
        (hs256(claims(qsh=CONTEXT_QSH)), {}),
        (hs256(claims(iss=DROP)), {}),
        (hs256(claims(exp=True)), {}),
        (forge({"alg": "none"}, claims(), None), {}),
        (f"{head}.{body}.{'A' * 43}", {}),
        (good + "x", {}),
        (good, {"expected_qsh": None}),
    ]


@pytest.mark.parametrize(("token", "options"), _rejected_tokens())
def test_error_messages_never_contain_the_token_or_the_secret(
    token: str, options: dict[str, Any]
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        verify(token, **options)
    error: BaseException | None = caught.value
    while error is not None:
        for text in (str(error), repr(error), getattr(error, "message", "")):
            assert SECRET not in text
            assert token not in text
            for segment in token.split("."):
                if len(segment) > 8:
                    assert segment not in text
        error = error.__cause__
