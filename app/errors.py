"""Errors the product raises on purpose: each has an HTTP status, a code and a sentence.

Rendered once, by the handlers in `app.main`, as
`{"error": {"code": "snake_case_code", "message": "a sentence for people"}}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        # The request fields at fault (`hours`, `0.effective_from`), for pages to mark.
        self.fields = fields or []
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


def error_body(
    code: str, message: str, fields: list[str] | None = None
) -> dict[str, dict[str, object]]:
    """The one error shape; `fields` only where the request's fields are at fault."""
    error: dict[str, object] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


class ServiceUnavailable(AppError):
    """Something we depend on (Jira, QuickBooks) did not answer; retrying later may work."""

    status_code = 503
    code = "service_unavailable"


# --- the shape, for the OpenAPI document ------------------------------------------------------


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]+$")
    message: str = Field(min_length=1)
    fields: list[str] | None = None


class ErrorOut(BaseModel):
    """Every 4xx and 5xx of every route, whatever raised it (our errors, FastAPI's
    validation, Starlette's 404/405, an unexpected exception)."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


# For `FastAPI(responses=...)`: documented once for every operation, in place of FastAPI's
# own 422 shape (`{"detail": [...]}`), which this app never answers.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorOut,
        "description": "Refused: `error.code` says why, in the API's one shape.",
    },
    "5XX": {
        "model": ErrorOut,
        "description": "Failed on our side or a service's: retrying later may work.",
    },
}
