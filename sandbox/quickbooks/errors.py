"""QuickBooks' error answers, as exceptions the HTTP layer renders:

- `QboFault`: the Accounting API's `{"Fault": {"Error": [...], "type": ...}, "time": ...}`;
- `AuthFault`: the 401 answer to a missing/expired/unknown bearer token, which uses a
  different, lowercase envelope (`{"warnings": null, "fault": {"error": [...]}}`) and a
  `WWW-Authenticate` header;
- `Throttled`: 429 with an XML `IntuitResponse` body, even when JSON was asked for;
- `OAuthError`: the token endpoint's `{"error": ..., "error_description": ...}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape


@dataclass(frozen=True, slots=True)
class FaultError:
    message: str
    detail: str
    code: str
    element: str = ""

    def json(self) -> dict[str, str]:
        return {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }


class QboFault(Exception):
    def __init__(
        self,
        status: int,
        *errors: FaultError,
        type: str = "ValidationFault",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__("; ".join(f"{e.code} {e.message}: {e.detail}" for e in errors))
        self.status = status
        self.errors = list(errors)
        self.type = type
        self.headers = dict(headers or {})

    @property
    def code(self) -> str:
        return self.errors[0].code if self.errors else ""

    def fault_json(self) -> dict[str, Any]:
        return {"Error": [e.json() for e in self.errors], "type": self.type}

    def body(self, time: str) -> dict[str, Any]:
        return {"Fault": self.fault_json(), "time": time}


def validation(code: str, message: str, detail: str, element: str = "") -> QboFault:
    return QboFault(400, FaultError(message, detail, code, element))


def object_not_found(entity: str, entity_id: str) -> QboFault:
    return validation(
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive or "
        f"deleted. Check the {entity} with Id {entity_id}.",
    )


def made_inactive(element: str) -> QboFault:
    return validation(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. Check the "
        "fields with accounts, customers, items, vendors or employees.",
        element,
    )


def invalid_reference(element: str, value: object) -> QboFault:
    return validation(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {element} assigned is invalid: {value}",
        element,
    )


def required_param(element: str) -> QboFault:
    return validation(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def string_length(element: str, max_length: int, supplied: int) -> QboFault:
    return validation(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 "
        f"Max:{max_length} supplied length:{supplied}",
        element,
    )


def business_validation(detail: str, element: str = "") -> QboFault:
    return validation(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def stale_object(entity: str, entity_id: str, sync_token: object) -> QboFault:
    return validation(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and another user were working on the same thing. Please try "
        f"again. {entity} Id={entity_id} SyncToken={sync_token} is not the latest version.",
    )


def parse_error(detail: str) -> QboFault:
    return validation("4000", "Error parsing query", f"QueryParserError: {detail}")


def invalid_query(detail: str) -> QboFault:
    return validation("4001", "Invalid query", f"QueryValidationError: {detail}")


def malformed_request(detail: str) -> QboFault:
    return validation("2010", "Request has invalid or unsupported property", detail)


def system_fault(status: int) -> QboFault:
    return QboFault(
        status,
        FaultError(
            "An application error has occurred while processing your request",
            "System Failure Error: An unexpected error occurred while accessing or saving "
            "your data. Please wait a few minutes and try again.",
            "10000",
        ),
        type="SystemFault",
    )


class AuthFault(Exception):
    """401 for a missing/expired/revoked/unknown access token; 403 for a token that is not
    allowed on this realm."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    def body(self, time: str) -> dict[str, Any]:
        if self.status == 401:
            return {
                "warnings": None,
                "fault": {
                    "error": [
                        {
                            "message": "message=AuthenticationFailed; errorCode=003200; "
                            "statusCode=401",
                            "detail": self.detail,
                            "code": "3200",
                        }
                    ],
                    "type": "AUTHENTICATION",
                },
                "report": None,
                "time": time,
            }
        return {
            "Fault": {
                "Error": [
                    {
                        "Message": "message=ApplicationAuthorizationFailed; errorCode=003100; "
                        "statusCode=403",
                        "Detail": self.detail,
                        "code": "3100",
                        "element": "",
                    }
                ],
                "type": "SERVICE",
            },
            "time": time,
        }

    @property
    def headers(self) -> dict[str, str]:
        if self.status == 401:
            return {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'}
        return {}


class Throttled(Exception):
    def __init__(
        self,
        detail: str = "The request limit was reached. Try again later",
        *,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after

    def xml(self, time: str) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{time}">'
            '<Fault type="SERVICE"><Error code="3001" element="">'
            "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
            f"<Detail>{escape(self.detail)}</Detail>"
            "</Error></Fault></IntuitResponse>"
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": self.retry_after} if self.retry_after is not None else {}


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body
