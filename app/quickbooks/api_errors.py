"""What QuickBooks' refusals are, typed: each error carries Intuit's `code`, `detail`,
`element` and the response's `intuit_tid`, whichever envelope Intuit used (JSON `Fault`, the
401's lowercase `fault`, the XML body of a throttle). What they mean for a user is
app.quickbooks.errors."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

_XML_ERROR = re.compile(r"<Error\b[^>]*\bcode=\"(?P<code>[^\"]*)\"", re.IGNORECASE)
_XML_MESSAGE = re.compile(r"<Message>(?P<text>.*?)</Message>", re.IGNORECASE | re.DOTALL)
_XML_DETAIL = re.compile(r"<Detail>(?P<text>.*?)</Detail>", re.IGNORECASE | re.DOTALL)


class QuickBooksError(Exception):
    """QuickBooks (or Intuit's OAuth server) refused or failed a call.

    `code` is Intuit's error code (`"6140"`, `"3200"`…) when it gave one, `detail` its
    explanation, `intuit_tid` the id Intuit support can look the request up by.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: str = "",
        intuit_tid: str | None = None,
        element: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.detail = detail
        self.intuit_tid = intuit_tid
        self.element = element


class OAuthError(QuickBooksError):
    """Intuit's token or revoke endpoint answered an OAuth error (`error` is its name)."""

    def __init__(self, message: str, *, error: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.error = error


class InvalidGrantError(OAuthError):
    """The code or refresh token is dead (used, expired, revoked, disconnected): retrying never
    helps; the user has to connect again."""


class QuickBooksAuthenticationError(QuickBooksError):
    """401 / 3200: the access token was refused."""


class AuthorizationError(QuickBooksError):
    """403 / 3100 / 120: the token may not reach this company (any more)."""


class ThrottledError(QuickBooksError):
    """429 / 3001 after every retry; `retry_after` is Intuit's last hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ObjectNotFoundError(QuickBooksError):
    """610: deleted, or made inactive."""


class QuickBooksValidationError(QuickBooksError):
    """QuickBooks refused the request's content (codes 2000 to 6999 and other 4xx)."""


class StaleObjectError(QuickBooksValidationError):
    """5010: the SyncToken is not the latest; read again and retry."""


class AmountCalculationError(QuickBooksValidationError):
    """6070: a line's Amount is not Qty times UnitPrice."""


class DuplicateDocNumberError(QuickBooksValidationError):
    """6140: another transaction already has this DocNumber."""


class DuplicateNameError(QuickBooksValidationError):
    """6240: another customer/vendor/employee already has this name."""


class ServerError(QuickBooksError):
    """5xx or a SystemFault (10000+) after every retry."""


class UnavailableError(QuickBooksError):
    """Intuit could not be reached (connection error or timeout) after every retry."""


_BY_CODE: dict[str, type[QuickBooksError]] = {
    "3200": QuickBooksAuthenticationError,
    "3100": AuthorizationError,
    "120": AuthorizationError,
    "3001": ThrottledError,
    "610": ObjectNotFoundError,
    "5010": StaleObjectError,
    "6070": AmountCalculationError,
    "6140": DuplicateDocNumberError,
    "6240": DuplicateNameError,
}


@dataclass(frozen=True, slots=True)
class _Fault:
    code: str | None
    message: str
    detail: str
    element: str = ""


def _fault_of(response: httpx.Response) -> _Fault:
    """The first error of a Fault, whichever envelope Intuit used (JSON `Fault`, the 401's
    lowercase `fault`, or the XML `IntuitResponse` of a throttle)."""
    text = response.text
    if text.lstrip().startswith("<"):
        code = _XML_ERROR.search(text)
        message = _XML_MESSAGE.search(text)
        detail = _XML_DETAIL.search(text)
        return _Fault(
            code.group("code") if code else None,
            message.group("text").strip() if message else "",
            detail.group("text").strip() if detail else "",
        )
    try:
        body = json.loads(text, parse_float=Decimal) if text else None
    except ValueError:
        return _Fault(None, "", text[:200])
    if not isinstance(body, dict):
        return _Fault(None, "", "")
    fault = body.get("Fault") or body.get("fault")
    if isinstance(fault, dict):
        errors = fault.get("Error") or fault.get("error") or []
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            code = first.get("code")
            return _Fault(
                str(code) if code is not None else None,
                str(first.get("Message") or first.get("message") or ""),
                str(first.get("Detail") or first.get("detail") or ""),
                str(first.get("element") or ""),
            )
    return _Fault(None, "", "")


def _error_class(status: int, code: str | None) -> type[QuickBooksError]:
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code]
    if status == 401:
        return QuickBooksAuthenticationError
    if status == 429:
        return ThrottledError
    if status == 403:
        return AuthorizationError
    if status >= 500 or (code is not None and code.isdigit() and int(code) >= 10000):
        return ServerError
    return QuickBooksValidationError


def error_for(
    response: httpx.Response, label: str, retry_after: float | None = None
) -> QuickBooksError:
    fault = _fault_of(response)
    status = response.status_code
    cls = _error_class(status, fault.code)
    summary = "; ".join(p for p in (fault.message, fault.detail) if p) or response.reason_phrase
    message = f"QuickBooks answered {status} to {label}"
    if fault.code:
        message += f" (code {fault.code})"
    message = f"{message}: {summary}"[:800]
    kwargs: dict[str, Any] = {
        "status": status,
        "code": fault.code,
        "detail": fault.detail or fault.message,
        "intuit_tid": response.headers.get("intuit_tid"),
        "element": fault.element,
    }
    if cls is ThrottledError:
        return ThrottledError(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)
