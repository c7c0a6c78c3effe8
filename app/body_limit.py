"""Request bodies above `W360_MAX_BODY_BYTES` are refused before they are read.

An ASGI middleware in front of every route (the API, Connect's lifecycle, Jira's, Forge's
and QuickBooks' webhooks): a `Content-Length` over the limit is answered 413 at once, the
app never called and not one byte of the body read; a body without one (chunked transfer)
is counted as it streams in, and the chunk that goes over the limit ends the request with
the same 413, whatever the route had started (its response, if any, is dropped: nothing
past the limit is ever handed to it). The answer closes the connection, so a client still
sending is not waited for.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body

DEFAULT_MAX_BODY_BYTES = 1_048_576


class BodyTooLarge(Exception):
    """Raised to the app when a streamed body goes over the limit (it must stop reading)."""


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(send)
            return
        await _LimitedRequest(self, receive, send).run(scope)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            error_body(
                "payload_too_large",
                f"The request body is larger than {self.max_body_bytes:,} bytes, "
                "the most this service takes.",
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _LimitedRequest:
    """One request whose body is counted as the app reads it."""

    def __init__(self, limit: BodySizeLimit, receive: Receive, send: Send) -> None:
        self._limit = limit
        self._receive = receive
        self._send = send
        self._received = 0
        self._over = False
        self._started = False

    async def run(self, scope: Scope) -> None:
        try:
            await self._limit.app(scope, self.receive, self.send)
        except BodyTooLarge:
            pass
        except Exception:
            if not self._over:
                raise
        if self._over and not self._started:
            await self._limit._refuse(self._send)

    async def receive(self) -> Message:
        if self._over:
            raise BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._limit.max_body_bytes:
                self._over = True
                raise BodyTooLarge
        return message

    async def send(self, message: Message) -> None:
        if self._over and not self._started:
            return  # the app answered a body it never fully had: the 413 goes instead
        if message["type"] == "http.response.start":
            self._started = True
        await self._send(message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
