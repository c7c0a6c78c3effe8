"""The Connect query string hash (qsh): binds a JWT to one method, path and query.

Follows Atlassian's canonical request algorithm (the `jwt-api` / atlassian-connect-spring-boot
`HttpRequestCanonicalizer`):

    canonical = METHOD & canonical_path & canonical_query
    qsh       = lower-hex SHA-256 of the canonical request

* the path is taken raw (as sent, not decoded), relative to the base URL's context path, with
  one trailing slash removed, `/` when empty, and with `&` written `%26`;
* the query drops `jwt`, percent-encodes names and values per RFC 3986 (only `A-Za-z0-9-._~`
  stay literal), sorts by encoded name, joins repeated names' sorted values with `,`.

Paths are canonicalised raw so that a reverse proxy that re-encodes a URL cannot change what we
hash (a recurring cause of "qsh mismatch" in other Connect stacks).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import parse_qsl, quote, urlsplit

CONTEXT_QSH = "context-qsh"
"""The fixed qsh of context tokens (`AP.context.getToken()` with the context-qsh migration)."""

QueryInput = str | Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of one name or value: UTF-8 bytes, upper-case hex, `~` kept."""
    return quote(value, safe="~")


def _query_pairs(query: QueryInput) -> list[tuple[str, str]]:
    if isinstance(query, str):
        # keep_blank_values: `?a=&b` hashes `a=` and `b=`, like the Java canonicaliser.
        # The string is the query itself: a leading `?` is part of the first name.
        return parse_qsl(query, keep_blank_values=True)
    if isinstance(query, Mapping):
        pairs: list[tuple[str, str]] = []
        for name, values in query.items():
            if isinstance(values, str):
                pairs.append((name, values))
            else:
                pairs.extend((name, v) for v in values)
        return pairs
    return list(query)


def canonical_query(query: QueryInput) -> str:
    """Sorted, encoded query with `jwt` removed and repeated names joined by `,`."""
    grouped: dict[str, list[str]] = {}
    for name, value in _query_pairs(query):
        if name != "jwt":
            grouped.setdefault(percent_encode(name), []).append(value)
    return "&".join(
        f"{name}={','.join(percent_encode(v) for v in sorted(values, key=_java_order))}"
        for name, values in sorted(grouped.items())
    )


def _java_order(value: str) -> bytes:
    # Atlassian's reference implementation sorts repeated values raw, as Java Strings
    # (UTF-16 code units), before encoding them; UTF-16-BE bytes sort the same way.
    return value.encode("utf-16-be", "surrogatepass")


def context_path(base_url: str | None) -> str:
    """The path part of a base URL without its trailing slash (`""` for a root URL)."""
    if not base_url:
        return ""
    return urlsplit(base_url).path.rstrip("/")


def canonical_path(path: str, base_url: str | None = None) -> str:
    """The request path relative to `base_url`'s context path, as the qsh algorithm wants it."""
    prefix = context_path(base_url)
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :]
    # Exactly one trailing slash goes, as in ACSB (`removeEnd(path, "/")`) and atlassian-jwt.
    path = path.removesuffix("/") or "/"
    if not path.startswith("/"):
        path = "/" + path
    return path.replace("&", "%26")


def canonical_request(
    method: str, path: str, query: QueryInput = "", base_url: str | None = None
) -> str:
    return f"{method.upper()}&{canonical_path(path, base_url)}&{canonical_query(query)}"


def query_string_hash(
    method: str, path: str, query: QueryInput = "", base_url: str | None = None
) -> str:
    """The `qsh` claim for a request. `path` must be the raw (still percent-encoded) path."""
    canonical = canonical_request(method, path, query, base_url)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def query_string_hash_for_url(method: str, url: str, base_url: str | None = None) -> str:
    """The `qsh` for an absolute or relative URL (query included)."""
    parts = urlsplit(url)
    return query_string_hash(method, parts.path, parts.query, base_url)
