"""Reading Connect authentication from a Starlette/FastAPI request."""

from __future__ import annotations

from starlette.requests import Request

from connect.errors import AuthenticationError

_HEADER_SCHEME = "jwt "


def token_from_query(request: Request) -> str | None:
    tokens = request.query_params.getlist("jwt")
    if len(tokens) > 1:
        raise AuthenticationError("The request carries more than one JWT.")
    return tokens[0] if tokens else None


def token_from_header(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    if header[: len(_HEADER_SCHEME)].lower() != _HEADER_SCHEME:
        raise AuthenticationError("The Authorization header must use the JWT scheme.")
    token = header[len(_HEADER_SCHEME) :].strip()
    return token or None


def raw_path(request: Request) -> str:
    """The path exactly as the client sent it (percent-encoding intact), for the qsh.

    Starlette decodes `request.url.path`; hashing the decoded form would break on any path
    with an encoded character, so the raw bytes from the ASGI scope are used.
    """
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes | bytearray):
        return bytes(raw).split(b"?", 1)[0].decode("utf-8", "replace")
    return request.url.path


def raw_query(request: Request) -> str:
    query = request.scope.get("query_string", b"")
    return bytes(query).decode("utf-8", "replace") if isinstance(query, bytes | bytearray) else ""
