"""Errors the product raises on purpose: each has an HTTP status, a code and a sentence.

Rendered once, by the handlers in `app.main`, as
`{"error": {"code": "snake_case_code", "message": "a sentence for people"}}`.
"""

from __future__ import annotations


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unprocessable(AppError):
    status_code = 422
    code = "invalid_request"


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


class ServiceUnavailable(AppError):
    """Something we depend on (Jira, QuickBooks) did not answer; retrying later may work."""

    status_code = 503
    code = "service_unavailable"
