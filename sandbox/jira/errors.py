"""The one error of the emulator: answered as Jira's `{"errorMessages": [...], "errors": {}}`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class JiraApiError(Exception):
    def __init__(
        self,
        status: int,
        *messages: str,
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {'; '.join(messages) or dict(errors or {})}")
        self.status = status
        self.messages: Sequence[str] = list(messages)
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        return {"errorMessages": list(self.messages), "errors": self.errors}


def not_found(message: str) -> JiraApiError:
    return JiraApiError(404, message)


def unauthorized(message: str) -> JiraApiError:
    return JiraApiError(401, message)
