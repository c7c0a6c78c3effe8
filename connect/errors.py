"""Errors raised by the Connect toolkit. Each carries a short `code` and a message for people.

Messages say what is wrong in a few words and never echo the token, a secret or a
signature: an attacker learns nothing beyond "rejected, and roughly why".
"""

from __future__ import annotations


class ConnectError(Exception):
    code = "connect_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class AuthenticationError(ConnectError):
    """A JWT or install signature was missing, malformed, expired or not ours."""

    code = "invalid_token"


class TokenExpiredError(AuthenticationError):
    code = "token_expired"


class UnknownInstallationError(AuthenticationError):
    code = "unknown_installation"


class InactiveInstallationError(AuthenticationError):
    code = "installation_inactive"


class InstallKeyUnavailableError(AuthenticationError):
    """The signed-install public key could not be fetched (unknown kid or key server down)."""

    code = "install_key_unavailable"
