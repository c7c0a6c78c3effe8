"""Connect's query string hash and JWTs, written here from Atlassian's canonical-request
algorithm on purpose rather than imported from `connect/`: the emulator checks the app's
signatures with an independent implementation, so a shared bug cannot pass unnoticed.

Canonical request: METHOD & path (relative to the base URL's context path, no trailing `/`,
`&` as `%26`) & query (without `jwt`, names and values percent-encoded the way Java's
`URLEncoder` does plus `%20`/`%2A`/`~` fixes, sorted, repeated values sorted and joined by `,`).
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import jwt


def _java_percent_encode(value: str) -> str:
    return quote_plus(value, safe="*").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def _utf16_order(value: str) -> bytes:
    # java.lang.String compares UTF-16 code units.
    return value.encode("utf-16-be", "surrogatepass")


def canonical_request(method: str, raw_path: str, raw_query: str, context_path: str) -> str:
    path = raw_path
    if context_path and path.startswith(context_path):
        path = path[len(context_path) :]
    path = path.rstrip("/") or "/"
    if not path.startswith("/"):
        path = "/" + path
    path = path.replace("&", "%26")

    values_by_name: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        if name != "jwt":
            values_by_name.setdefault(name, []).append(value)
    parameters = sorted(
        (
            _java_percent_encode(name),
            ",".join(_java_percent_encode(v) for v in sorted(values, key=_utf16_order)),
        )
        for name, values in values_by_name.items()
    )
    query = "&".join(f"{name}={values}" for name, values in parameters)
    return f"{method.upper()}&{path}&{query}"


def query_hash(method: str, raw_path: str, raw_query: str, context_path: str) -> str:
    request = canonical_request(method, raw_path, raw_query, context_path)
    return hashlib.sha256(request.encode("utf-8")).hexdigest()


def query_hash_for_url(method: str, url: str, base_url: str) -> str:
    """The qsh Jira puts in a token it sends to `url` on an app living at `base_url`."""
    parts = urlsplit(url)
    return query_hash(method, parts.path, parts.query, urlsplit(base_url).path.rstrip("/"))


def sign_hs256(claims: dict[str, Any], shared_secret: str) -> str:
    return jwt.encode(claims, shared_secret.encode("utf-8"), algorithm="HS256")


def sign_rs256(claims: dict[str, Any], private_key: Any, kid: str) -> str:
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid})
