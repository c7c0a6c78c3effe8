"""Why a Forge Invocation Token was refused. Each error has a short `code` and a message for
people; messages never echo the token, a key or a signature.

    InvocationTokenError
    ├── MalformedTokenError (MissingClaimError)
    ├── InvalidSignatureError (UnacceptedAlgorithmError)
    ├── UnknownSigningKeyError
    ├── SigningKeysUnavailableError
    ├── TokenExpiredError
    ├── TokenNotYetValidError
    ├── WrongIssuerError
    ├── WrongAudienceError
    └── InvalidIcLabelError (IsolatedCloudNotConfiguredError)
"""

from __future__ import annotations


class InvocationTokenError(Exception):
    """The token must not be trusted; the caller answers 401."""

    code = "invalid_token"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedTokenError(InvocationTokenError):
    code = "malformed_token"


class MissingClaimError(MalformedTokenError):
    code = "missing_claim"


class InvalidSignatureError(InvocationTokenError):
    code = "bad_signature"


class UnacceptedAlgorithmError(InvalidSignatureError):
    """Anything but RS256: `none`, HS256 keyed with the public key, other curves."""

    code = "unaccepted_algorithm"


class UnknownSigningKeyError(InvocationTokenError):
    """The `kid` is not in Forge's JWKS, even after the one refetch allowed."""

    code = "unknown_signing_key"


class SigningKeysUnavailableError(InvocationTokenError):
    """Forge's JWKS could not be read (network, 5xx, not a key set)."""

    code = "signing_keys_unavailable"


class TokenExpiredError(InvocationTokenError):
    code = "token_expired"


class TokenNotYetValidError(InvocationTokenError):
    code = "token_not_yet_valid"


class WrongIssuerError(InvocationTokenError):
    code = "wrong_issuer"


class WrongAudienceError(InvocationTokenError):
    """Issued for another Forge app (its `aud` or `app.id` is not ours)."""

    code = "wrong_audience"


class InvalidIcLabelError(InvocationTokenError):
    """The Isolated Cloud label is not `^[a-z0-9_-]{1,50}$`: it never reaches a URL."""

    code = "bad_ic_label"


class IsolatedCloudNotConfiguredError(InvalidIcLabelError):
    """A token from an Isolated Cloud, but no JWKS URL template for them is configured."""

    code = "isolated_cloud_not_configured"
