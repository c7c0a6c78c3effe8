"""The Connect query string hash, checked against the canonical request algorithm.

Every expected canonical request below was derived by hand from the algorithm text
(atlassian-connect-spring-boot / jwt-api `HttpRequestCanonicalizer`, see
shared/reference/connect.md section 1), not by running the implementation.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, unquote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect.qsh import (
    CONTEXT_QSH,
    canonical_path,
    canonical_query,
    canonical_request,
    percent_encode,
    query_string_hash,
    query_string_hash_for_url,
)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- the worked examples from the algorithm text -------------------------------------------


def test_sha256_of_foo_matches_the_documented_value() -> None:
    assert sha256_hex("foo") == "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"


def test_documented_worked_example_gives_the_documented_canonical_request() -> None:
    url = (
        "http://localhost:2990/path/to/service"
        "?zee_last=param&repeated=parameter 1&first=param&repeated=parameter 2"
    )
    expected = (
        "GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param"
    )
    assert canonical_request("GET", "/path/to/service", url.split("?", 1)[1]) == expected
    assert query_string_hash_for_url("GET", url) == sha256_hex(expected)


def test_root_path_with_one_parameter_matches_the_docs() -> None:
    assert canonical_request("GET", "/", "param=foo") == "GET&/&param=foo"


def test_post_without_query_keeps_the_trailing_separator() -> None:
    assert canonical_request("POST", "/user") == "POST&/user&"
    assert query_string_hash("POST", "/user") == sha256_hex("POST&/user&")


def test_context_qsh_constant_is_the_documented_value() -> None:
    assert CONTEXT_QSH == "context-qsh"


# --- a table of tricky requests -------------------------------------------------------------

WIKI = "https://example.atlassian.net/wiki"

# (id, method, path, query, base_url, expected canonical request)
CASES: list[tuple[str, str, str, object, str | None, str]] = [
    # method
    ("method-lower-case", "get", "/p", "", None, "GET&/p&"),
    ("method-mixed-case", "pOsT", "/p", "", None, "POST&/p&"),
    # path shape
    ("empty-path-is-root", "GET", "", "", None, "GET&/&"),
    ("only-slash", "GET", "/", "a=1", None, "GET&/&a=1"),
    ("trailing-slash-dropped", "GET", "/some/path/", "param=value", None,
     "GET&/some/path&param=value"),
    ("leading-slash-added", "GET", "some/path", "", None, "GET&/some/path&"),
    ("ampersand-in-path", "GET", "/rest/api/2/project&a=b", "x=y", None,
     "GET&/rest/api/2/project%26a=b&x=y"),
    ("percent-escapes-in-path-kept-raw", "GET", "/a%20b/caf%C3%A9/x%2Fy", "", None,
     "GET&/a%20b/caf%C3%A9/x%2Fy&"),
    ("lower-case-escapes-in-path-kept-raw", "GET", "/caf%c3%a9", "", None, "GET&/caf%c3%a9&"),
    ("plus-in-path-kept-raw", "GET", "/a+b", "", None, "GET&/a+b&"),
    # context path
    ("context-path-stripped", "GET", "/wiki/rest/api/content", "", WIKI, "GET&/rest/api/content&"),
    ("context-path-stripped-base-trailing-slash", "GET", "/wiki/rest/api/content", "", WIKI + "/",
     "GET&/rest/api/content&"),
    ("path-equal-to-context-path", "GET", "/wiki", "", WIKI, "GET&/&"),
    ("path-equal-to-context-path-with-slash", "GET", "/wiki/", "", WIKI + "/", "GET&/&"),
    ("sibling-of-context-path-not-stripped", "GET", "/wiki2/rest", "", WIKI, "GET&/wiki2/rest&"),
    ("path-outside-context-path-kept", "GET", "/rest/api/3/myself", "", WIKI,
     "GET&/rest/api/3/myself&"),
    ("root-base-url-strips-nothing", "POST", "/installed", "", "https://app.example.com/",
     "POST&/installed&"),
    ("nested-context-path", "POST", "/apps/worklog360/installed", "",
     "https://host.example.com/apps/worklog360", "POST&/installed&"),
    ("ampersand-in-path-under-context", "GET", "/wiki/a&b/", "", WIKI, "GET&/a%26b&"),
    # the jwt parameter
    ("jwt-first-dropped", "GET", "/p", "jwt=abc.def.ghi&a=1", None, "GET&/p&a=1"),
    ("jwt-last-dropped", "GET", "/p", "a=1&jwt=abc.def.ghi", None, "GET&/p&a=1"),
    ("jwt-repeated-dropped", "GET", "/p", "jwt=1&b=2&jwt=2", None, "GET&/p&b=2"),
    ("jwt-only-leaves-empty-query", "GET", "/p", "jwt=x", None, "GET&/p&"),
    ("upper-case-JWT-is-an-ordinary-parameter", "GET", "/p", "a=1&JWT=x", None, "GET&/p&JWT=x&a=1"),
    # repeated parameters and blank values
    ("repeated-values-sorted", "GET", "/p", "a=3&b=x&a=1&a=2", None, "GET&/p&a=1,2,3&b=x"),
    ("repeated-values-sorted-as-strings", "GET", "/p", "n=10&n=9&n=100", None, "GET&/p&n=10,100,9"),
    ("blank-value", "GET", "/p", "a=&b=1", None, "GET&/p&a=&b=1"),
    ("name-without-equals-is-blank", "GET", "/p", "a&b=1", None, "GET&/p&a=&b=1"),
    ("blank-among-repeated-values", "GET", "/p", "a=x&a=", None, "GET&/p&a=,x"),
    # percent-encoding of values
    ("plus-is-a-space", "GET", "/p", "q=a+b", None, "GET&/p&q=a%20b"),
    ("encoded-plus-stays-a-plus", "GET", "/p", "q=a%2Bb", None, "GET&/p&q=a%2Bb"),
    ("space-is-percent-20", "GET", "/p", "q=a%20b", None, "GET&/p&q=a%20b"),
    ("star-is-encoded", "GET", "/p", "q=*", None, "GET&/p&q=%2A"),
    ("tilde-is-literal", "GET", "/p", "q=~&r=%7E", None, "GET&/p&q=~&r=~"),
    ("sub-delims-are-encoded", "GET", "/p", "q=!'()", None, "GET&/p&q=%21%27%28%29"),
    ("unreserved-marks-stay-literal", "GET", "/p", "q=a-b.c_d", None, "GET&/p&q=a-b.c_d"),
    ("utf8-upper-case-hex", "GET", "/p", "name=caf%c3%a9", None, "GET&/p&name=caf%C3%A9"),
    ("raw-unicode-value", "GET", "/p", "name=café", None, "GET&/p&name=caf%C3%A9"),
    ("emoji-value", "GET", "/p", "e=%F0%9F%98%80", None, "GET&/p&e=%F0%9F%98%80"),
    ("equals-in-name-and-value", "GET", "/p", "a%3Db=c%3Dd", None, "GET&/p&a%3Db=c%3Dd"),
    ("encoded-ampersand-in-value", "GET", "/p", "a=b%26c", None, "GET&/p&a=b%26c"),
    ("comma-in-value-is-encoded", "GET", "/p", "a=b,c", None, "GET&/p&a=b%2Cc"),
    ("repeated-is-joined-with-literal-comma", "GET", "/p", "a=c&a=b", None, "GET&/p&a=b,c"),
    ("slash-question-colon-encoded", "GET", "/p", "u=/a?b:c", None, "GET&/p&u=%2Fa%3Fb%3Ac"),
    ("encoded-url-value", "GET", "/p", "r=http%3A%2F%2Fh%2Fp%3Fx%3D1", None,
     "GET&/p&r=http%3A%2F%2Fh%2Fp%3Fx%3D1"),
    # sorting of names
    ("code-point-order-of-names", "GET", "/p", "b=1&a=2&B=3&A=4", None, "GET&/p&A=4&B=3&a=2&b=1"),
    ("prefix-names-sort-first", "GET", "/p", "ab=1&a=2&a.b=3&a-b=4&a_b=5", None,
     "GET&/p&a=2&a-b=4&a.b=3&a_b=5&ab=1"),
    ("names-sort-by-encoded-form", "GET", "/p", "z=1&%C3%A9=2&A=3", None,
     "GET&/p&%C3%A9=2&A=3&z=1"),
    ("encoded-space-in-name-sorts-by-encoding", "GET", "/p", "a+b=1&a-b=2&a=3", None,
     "GET&/p&a=3&a%20b=1&a-b=2"),
    ("encoded-and-plain-name-are-the-same-parameter", "GET", "/p", "a=2&%61=1", None,
     "GET&/p&a=1,2"),
    # sorting of repeated values: raw values, as Java Strings (UTF-16 code units)
    ("repeated-values-sorted-before-encoding", "GET", "/p", "v=%2F&v=-", None, "GET&/p&v=-,%2F"),
    ("repeated-values-ascii-before-latin1", "GET", "/p", "v=%C3%A9&v=z", None,
     "GET&/p&v=z,%C3%A9"),
    ("repeated-values-utf16-order", "GET", "/p", "v=%EF%BC%81&v=%F0%9F%98%80", None,
     "GET&/p&v=%F0%9F%98%80,%EF%BC%81"),
    # mapping and iterable query forms (names and values are raw, never form-decoded)
    ("mapping-form", "GET", "/p", {"b": ["2", "1"], "a": "x", "jwt": "t"}, None,
     "GET&/p&a=x&b=1,2"),
    ("mapping-form-tuple-values", "GET", "/p", {"a": ("2", "1")}, None, "GET&/p&a=1,2"),
    ("mapping-form-values-not-decoded", "GET", "/p", {"q": "a+b", "sp ace": "%41"}, None,
     "GET&/p&q=a%2Bb&sp%20ace=%2541"),
    ("iterable-form", "GET", "/p", [("b", "1"), ("a", "2"), ("b", "0"), ("jwt", "x")], None,
     "GET&/p&a=2&b=0,1"),
    ("empty-mapping", "GET", "/p", {}, None, "GET&/p&"),
    ("empty-iterable", "GET", "/p", [], None, "GET&/p&"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "query", "base_url", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_canonical_request_follows_the_algorithm(
    method: str, path: str, query: object, base_url: str | None, expected: str
) -> None:
    assert canonical_request(method, path, query, base_url) == expected  # type: ignore[arg-type]
    qsh = query_string_hash(method, path, query, base_url)  # type: ignore[arg-type]
    assert qsh == sha256_hex(expected)
    assert re.fullmatch(r"[0-9a-f]{64}", qsh)


def test_table_has_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


# --- URL form --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base_url", "expected"),
    [
        ("https://x.atlassian.net:443/wiki/rest/api?b=2&a=1#frag", WIKI, "GET&/rest/api&a=1&b=2"),
        ("http://server:80/some/path/?param=value", None, "GET&/some/path&param=value"),
        ("http://server:80", None, "GET&/&"),
        ("/relative/path?jwt=t&x=%7E", None, "GET&/relative/path&x=~"),
    ],
)
def test_hash_for_url_uses_path_and_query_of_the_url(
    url: str, base_url: str | None, expected: str
) -> None:
    assert query_string_hash_for_url("get", url, base_url) == sha256_hex(expected)


def test_question_mark_starting_the_query_is_part_of_the_first_name() -> None:
    # In `/p??a=1` the query is `?a=1` (everything after the first `?`), so the first parameter
    # is named `?a`. Java's and Node's parsers read it that way; dropping the `?` would give
    # `/p??a=1` the same hash as `/p?a=1`.
    assert query_string_hash_for_url("GET", "http://h/p??a=1") == sha256_hex("GET&/p&%3Fa=1")


def test_only_one_trailing_slash_is_removed_like_the_reference_canonicalizers() -> None:
    # ACSB: StringUtils.removeEnd(path, "/"); atlassian-jwt (npm): drops one trailing `/`.
    # Both hash `/a//` as `/a/`, so Jira's signer does too.
    assert canonical_path("/a//") == "/a/"


def test_double_slash_root_is_root() -> None:
    assert canonical_path("//") == "/"


def test_canonical_query_alone_has_no_leading_separator() -> None:
    assert canonical_query("b=2&a=1") == "a=1&b=2"


# --- properties ------------------------------------------------------------------------------

names = st.text(max_size=8)
values = st.text(max_size=8)
pairs_strategy = st.lists(st.tuples(names, values), max_size=8)


@given(pairs=pairs_strategy, data=st.data())
def test_qsh_never_depends_on_parameter_order(
    pairs: list[tuple[str, str]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(pairs))
    assert query_string_hash("GET", "/p", shuffled) == query_string_hash("GET", "/p", pairs)
    as_text = urlencode(pairs, quote_via=quote)
    shuffled_text = urlencode(shuffled, quote_via=quote)
    assert query_string_hash("GET", "/p", shuffled_text) == query_string_hash("GET", "/p", as_text)


@given(pairs=pairs_strategy, token=st.text(max_size=40), data=st.data())
def test_adding_a_jwt_parameter_never_changes_the_qsh(
    pairs: list[tuple[str, str]], token: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(pairs)))
    with_jwt = [*pairs[:at], ("jwt", token), *pairs[at:]]
    assert query_string_hash("GET", "/p", with_jwt) == query_string_hash("GET", "/p", pairs)
    text, text_with_jwt = (urlencode(p, quote_via=quote) for p in (pairs, with_jwt))
    assert query_string_hash("GET", "/p", text_with_jwt) == query_string_hash("GET", "/p", text)


@given(pairs=pairs_strategy)
def test_encoded_query_string_and_pairs_hash_the_same(pairs: list[tuple[str, str]]) -> None:
    assert canonical_query(urlencode(pairs, quote_via=quote)) == canonical_query(pairs)


ENCODED = re.compile(r"(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})*")


@given(st.text())
def test_percent_encode_emits_only_unreserved_chars_and_upper_hex_and_round_trips(
    value: str,
) -> None:
    encoded = percent_encode(value)
    assert ENCODED.fullmatch(encoded)
    assert unquote(encoded, errors="strict") == value
