"""Forge Invocation Token verification against the emulator's JWKS, over HTTP.

Every refusal is a typed error; the ones decided before any key is needed (algorithm,
icLabel) are proven not to touch the JWKS at all.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from forge.errors import (
    InvalidIcLabelError,
    InvalidSignatureError,
    IsolatedCloudNotConfiguredError,
    MalformedTokenError,
    MissingClaimError,
    SigningKeysUnavailableError,
    TokenExpiredError,
    TokenNotYetValidError,
    UnacceptedAlgorithmError,
    UnknownSigningKeyError,
    WrongAudienceError,
    WrongIssuerError,
)
from forge.invocation import (
    LEEWAY_SECONDS,
    InvocationTokenVerifier,
    normalise_app_id,
)
from forge.jwks import REFETCH_INTERVAL_SECONDS, RETRY_AFTER_FAILURE_SECONDS
from forge.oauth import GUARANTEED_SYSTEM_TOKEN_SECONDS, app_token, bearer_token, token_expiry
from sandbox.jira import ForgeKeyRing
from sandbox.jira.forge import JWKS_URL
from tests.forge.conftest import NOW, SITE_URL, Clock, Forge, make_forge


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def with_payload(token: str, payload: dict[str, Any]) -> str:
    header, _payload, signature = token.split(".")
    return f"{header}.{b64(payload)}.{signature}"


# --- what a valid token says -----------------------------------------------------------------


async def test_a_ui_call_token_gives_the_person_the_site_and_the_installation(
    forge: Forge,
) -> None:
    claims = await forge.verifier.verify(forge.ui_token("user-1"))

    assert claims.principal == "user-1"
    assert claims.cloud_id == forge.site.cloud_id
    assert claims.site_url == SITE_URL
    assert claims.installation_id == forge.installation.installation_id
    assert claims.installation_id.startswith("ari:cloud:ecosystem::installation/")
    assert claims.api_base_url == f"https://api.atlassian.com/ex/jira/{forge.site.cloud_id}"
    assert claims.app_id == forge.app.app_id
    assert claims.app_version == "1.0.0"
    assert claims.module_type == "jira:globalPage"
    assert claims.environment_type == "PRODUCTION"
    assert claims.expires_at - claims.issued_at == 25
    assert not claims.is_trigger


async def test_a_trigger_token_has_no_person_and_finds_the_site_in_the_installation(
    forge: Forge,
) -> None:
    token = forge.sandbox.forge.trigger_token(forge.installation)

    claims = await forge.verifier.verify(token)

    assert claims.principal is None
    assert claims.site_url is None
    assert claims.cloud_id == forge.site.cloud_id  # from app.installation.contexts[]
    assert claims.module_type == "core:endpoint"
    assert claims.is_trigger


async def test_keys_are_fetched_once_and_then_served_from_memory(forge: Forge) -> None:
    for _ in range(5):
        await forge.verifier.verify(forge.ui_token())
    assert forge.jwks_fetches == 1


# --- time ------------------------------------------------------------------------------------


async def test_an_expired_token_is_refused(forge: Forge) -> None:
    token = forge.ui_token()
    forge.clock.advance(25 + LEEWAY_SECONDS)
    with pytest.raises(TokenExpiredError):
        await forge.verifier.verify(token)


async def test_a_token_just_past_exp_is_taken_within_the_leeway(forge: Forge) -> None:
    token = forge.ui_token()
    forge.clock.advance(25 + LEEWAY_SECONDS - 1)
    assert (await forge.verifier.verify(token)).principal == "user-1"


async def test_a_token_not_valid_yet_is_refused(forge: Forge) -> None:
    claims = forge.ui_claims()
    claims["nbf"] = NOW + LEEWAY_SECONDS + 5
    claims["exp"] = NOW + 60
    with pytest.raises(TokenNotYetValidError):
        await forge.verifier.verify(forge.sandbox.forge.mint(claims))


async def test_a_token_issued_in_the_future_is_not_valid_yet(forge: Forge) -> None:
    claims = forge.ui_claims()
    claims["iat"] = claims["nbf"] = NOW + 120
    claims["exp"] = NOW + 145
    with pytest.raises(TokenNotYetValidError):
        await forge.verifier.verify(forge.sandbox.forge.mint(claims))


# --- whose token -----------------------------------------------------------------------------


async def test_a_token_for_another_audience_is_refused(forge: Forge) -> None:
    claims = forge.ui_claims()
    claims["aud"] = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000"
    with pytest.raises(WrongAudienceError):
        await forge.verifier.verify(forge.sandbox.forge.mint(claims))


async def test_a_token_of_another_forge_app_is_refused(forge: Forge) -> None:
    other = forge.sandbox.forge.register_app("https://other.example")
    forge.sandbox.forge.new_installation(forge.site, other)
    token = forge.sandbox.forge.ui_token(forge.site, other, "user-1")
    with pytest.raises(WrongAudienceError):
        await forge.verifier.verify(token)


async def test_our_audience_on_another_apps_claims_is_refused(forge: Forge) -> None:
    claims = forge.ui_claims()
    claims["app"]["id"] = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000"  # type: ignore[index]
    with pytest.raises(WrongAudienceError):
        await forge.verifier.verify(forge.sandbox.forge.mint(claims))


async def test_a_token_from_another_issuer_is_refused(forge: Forge) -> None:
    claims = forge.ui_claims()
    claims["iss"] = "forge/context-token"
    with pytest.raises(WrongIssuerError):
        await forge.verifier.verify(forge.sandbox.forge.mint(claims))


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "iat"])
async def test_a_token_without_a_registered_claim_is_refused(forge: Forge, claim: str) -> None:
    claims = forge.ui_claims()
    del claims[claim]
    with pytest.raises(MissingClaimError):
        await forge.verifier.verify(forge.sandbox.forge.mint(claims))


@pytest.mark.parametrize(
    "path", [("app", "installationId"), ("app", "apiBaseUrl"), ("app",), ("context", "cloudId")]
)
async def test_a_token_without_what_names_the_installation_is_refused(
    forge: Forge, path: tuple[str, ...]
) -> None:
    claims: dict[str, Any] = forge.ui_claims()
    if path == ("context", "cloudId"):
        del claims["context"]["cloudId"]
        claims["app"]["installation"]["contexts"] = []
    else:
        target = claims
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    with pytest.raises(MissingClaimError):
        await forge.verifier.verify(forge.sandbox.forge.mint(claims))


# --- signatures and keys ---------------------------------------------------------------------


async def test_a_tampered_payload_is_refused(forge: Forge) -> None:
    token = forge.ui_token("user-1")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["principal"] = "someone-else"
    with pytest.raises(InvalidSignatureError):
        await forge.verifier.verify(with_payload(token, claims))


async def test_alg_none_is_refused_before_any_key_is_fetched(forge: Forge) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": forge.sandbox.forge.keys.current_kid}
    token = f"{b64(header)}.{b64(forge.ui_claims())}."
    with pytest.raises(UnacceptedAlgorithmError):
        await forge.verifier.verify(token)
    assert forge.jwks_fetches == 0


async def test_hs256_signed_with_the_public_key_is_refused(forge: Forge) -> None:
    ring = forge.sandbox.forge.keys
    header = b64({"alg": "HS256", "typ": "JWT", "kid": ring.current_kid})
    payload = b64(forge.ui_claims())
    signing_input = f"{header}.{payload}".encode()
    mac = hmac.new(ring.public_pem(), signing_input, hashlib.sha256).digest()
    token = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(UnacceptedAlgorithmError):
        await forge.verifier.verify(token)
    assert forge.jwks_fetches == 0


async def test_a_token_signed_by_a_stranger_under_forges_kid_is_refused(forge: Forge) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = forge.sandbox.forge.mint(forge.ui_claims(), private_key=stranger)
    with pytest.raises(InvalidSignatureError):
        await forge.verifier.verify(token)


async def test_an_unknown_kid_costs_one_refetch_then_none_within_the_minute(
    forge: Forge,
) -> None:
    await forge.verifier.verify(forge.ui_token())  # keys in memory
    assert forge.jwks_fetches == 1
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(UnknownSigningKeyError):
        await forge.verifier.verify(
            forge.sandbox.forge.mint(forge.ui_claims(), kid="made-up-1", private_key=stranger)
        )
    assert forge.jwks_fetches == 2  # exactly one refetch

    forge.clock.advance(REFETCH_INTERVAL_SECONDS - 1)
    for n in range(20):
        with pytest.raises(UnknownSigningKeyError):
            await forge.verifier.verify(
                forge.sandbox.forge.mint(
                    forge.ui_claims(), kid=f"made-up-{n + 2}", private_key=stranger
                )
            )
    assert forge.jwks_fetches == 2  # the flood fetched nothing

    forge.clock.advance(1)
    with pytest.raises(UnknownSigningKeyError):
        await forge.verifier.verify(
            forge.sandbox.forge.mint(forge.ui_claims(), kid="made-up-99", private_key=stranger)
        )
    assert forge.jwks_fetches == 3  # a minute later, one more


async def test_a_rotated_key_is_learnt_with_one_refetch_and_a_retired_one_is_dropped(
    clock: Clock,
) -> None:
    ring = ForgeKeyRing()
    async for forge in make_forge(ring, clock):
        old_kid = ring.current_kid
        old_key = ring.private_key(old_kid)
        old_token = forge.ui_token()
        await forge.verifier.verify(old_token)

        ring.rotate()
        await forge.verifier.verify(forge.ui_token())  # signed with the new kid
        assert forge.jwks_fetches == 2

        ring.retire(old_kid)
        forge.clock.advance(REFETCH_INTERVAL_SECONDS)
        ring.rotate()  # the next rotation makes the store read the set again
        await forge.verifier.verify(forge.ui_token())
        assert forge.jwks_fetches == 3
        old_again = forge.sandbox.forge.mint(forge.ui_claims(), kid=old_kid, private_key=old_key)
        with pytest.raises(UnknownSigningKeyError):
            await forge.verifier.verify(old_again)


async def test_verifications_at_once_share_one_fetch(forge: Forge) -> None:
    tokens = [forge.ui_token(f"user-{n}") for n in range(20)]
    results = await asyncio.gather(*(forge.verifier.verify(t) for t in tokens))
    assert [r.principal for r in results] == [f"user-{n}" for n in range(20)]
    assert forge.jwks_fetches == 1


async def test_forge_keys_unreachable_is_its_own_error_and_retried_soon(forge: Forge) -> None:
    forge.sandbox.forge.jwks_unavailable = True
    with pytest.raises(SigningKeysUnavailableError):
        await forge.verifier.verify(forge.ui_token())
    with pytest.raises(SigningKeysUnavailableError):  # no second fetch at once
        await forge.verifier.verify(forge.ui_token())
    assert forge.jwks_fetches == 1

    forge.sandbox.forge.jwks_unavailable = False
    forge.clock.advance(RETRY_AFTER_FAILURE_SECONDS)
    assert (await forge.verifier.verify(forge.ui_token())).principal == "user-1"
    assert forge.jwks_fetches == 2


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "x" * 20000, "e30.e30"])
async def test_garbage_is_malformed(forge: Forge, token: str) -> None:
    with pytest.raises(MalformedTokenError):
        await forge.verifier.verify(token)
    assert forge.jwks_fetches == 0


# --- Isolated Cloud --------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["../evil", "a" * 51, "Orange", "", "ev il", "orange/x", 7])
async def test_a_bad_ic_label_never_shapes_a_url(forge: Forge, label: object) -> None:
    claims = forge.ui_claims()
    claims["icLabel"] = label
    with pytest.raises(InvalidIcLabelError):
        await forge.verifier.verify(forge.sandbox.forge.mint(claims))
    assert sum(forge.sandbox.forge.jwks_requests.values()) == 0


async def test_an_isolated_cloud_token_is_checked_against_that_clouds_keys(
    forge: Forge,
) -> None:
    token = forge.ui_token(ic_label="orange")
    claims = await forge.verifier.verify(token)
    assert claims.ic_label == "orange"
    assert forge.fetches_from("forge.cdn.orange.isolated-cloud.test") == 1
    assert forge.jwks_fetches == 0

    # A commercial key does not sign for an Isolated Cloud.
    commercial = forge.ui_claims()
    commercial["icLabel"] = "orange"
    with pytest.raises(UnknownSigningKeyError):
        await forge.verifier.verify(forge.sandbox.forge.mint(commercial))


async def test_an_isolated_cloud_token_is_refused_without_a_template(forge: Forge) -> None:
    verifier = InvocationTokenVerifier(
        app_id=forge.app.app_id, keys=forge.keys, jwks_url=JWKS_URL, clock=forge.clock
    )
    with pytest.raises(IsolatedCloudNotConfiguredError):
        await verifier.verify(forge.ui_token(ic_label="orange"))
    assert sum(forge.sandbox.forge.jwks_requests.values()) == 0


def test_a_template_without_the_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match="IC_LABEL"):
        InvocationTokenVerifier(
            app_id="ari:cloud:ecosystem::app/8db33809-1f32-48bb-8c52-5877dab48107",
            keys=None,  # type: ignore[arg-type]
            isolated_cloud_jwks_url_template="https://keys.example/jwks.json",
        )


# --- small parts -----------------------------------------------------------------------------


def test_app_ids_are_normalised_like_ace_does() -> None:
    ari = "ari:cloud:ecosystem::app/8db33809-1f32-48bb-8c52-5877dab48107"
    assert normalise_app_id(ari) == ari
    assert normalise_app_id("8DB33809-1f32-48bb-8c52-5877dab48107") == ari
    for bad in ("", "ari:cloud:ecosystem::app/", "app/8db33809", "8db33809-1f32-48bb-8c52"):
        with pytest.raises(ValueError, match="app id"):
            normalise_app_id(bad)


def test_reading_the_bearer_and_app_token_headers() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("JWT abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None
    assert app_token("tok") == "tok"
    assert app_token("Bearer tok") == "tok"
    assert app_token("two words") is None
    assert app_token("") is None


def test_an_app_tokens_expiry_is_its_exp_else_the_two_hours_forge_promises() -> None:
    signed = jwt.encode({"exp": int(NOW) + 3 * 3600}, "k" * 32, algorithm="HS256")
    assert token_expiry(signed, now=NOW) == int(NOW) + 3 * 3600
    assert token_expiry("opaque", now=NOW) == int(NOW) + GUARANTEED_SYSTEM_TOKEN_SECONDS
    stale = jwt.encode({"exp": int(NOW) - 1}, "k" * 32, algorithm="HS256")
    assert token_expiry(stale, now=NOW) == int(NOW) - 1
