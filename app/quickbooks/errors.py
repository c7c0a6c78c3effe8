"""What QuickBooks problems look like to a user of the API: specific codes and sentences that
say what to do, never a stack trace (DESIGN.md, the guide's troubleshooting list)."""

from __future__ import annotations

from app.errors import AppError, Conflict, ServiceUnavailable, Unprocessable
from app.quickbooks.api_errors import (
    AuthorizationError,
    InvalidGrantError,
    ObjectNotFoundError,
    QuickBooksAuthenticationError,
    QuickBooksError,
    QuickBooksValidationError,
    ThrottledError,
)

RECONNECT_MESSAGE = "Reconnect QuickBooks in Settings → Integrations."


class QuickBooksNotConnected(Conflict):
    code = "quickbooks_not_connected"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "QuickBooks is not connected. A Jira administrator can connect it in "
            "Settings → Integrations."
        )


class QuickBooksReconnectRequired(Conflict):
    """Intuit no longer accepts the connection's tokens (expired, revoked, disconnected)."""

    code = "quickbooks_reconnect_required"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or f"The QuickBooks connection has expired. {RECONNECT_MESSAGE}")


def app_error(error: QuickBooksError) -> AppError:
    """The API error for a QuickBooks failure (routes and services raise this `from` it)."""
    tid = f" (Intuit reference {error.intuit_tid})" if error.intuit_tid else ""
    if isinstance(error, InvalidGrantError | QuickBooksAuthenticationError):
        return QuickBooksReconnectRequired()
    if isinstance(error, AuthorizationError):
        return QuickBooksReconnectRequired(
            "QuickBooks refused access to the company: the user who connected it may no longer "
            f"be an administrator there. {RECONNECT_MESSAGE}"
        )
    if isinstance(error, ThrottledError):
        return ServiceUnavailable(
            "QuickBooks is receiving too many requests for this company right now; try again "
            "in a minute.",
            code="quickbooks_throttled",
        )
    if isinstance(error, ObjectNotFoundError):
        return Unprocessable(
            f"QuickBooks could not find something this needs: it was deleted or made inactive "
            f"in QuickBooks. {error.detail}{tid}".strip(),
            code="quickbooks_object_not_found",
        )
    if isinstance(error, QuickBooksValidationError):
        return Unprocessable(
            f"QuickBooks refused the request: {error.detail or error.message}{tid}",
            code="quickbooks_rejected",
        )
    return ServiceUnavailable(
        f"QuickBooks did not answer; try again in a few minutes.{tid}",
        code="quickbooks_unavailable",
    )
