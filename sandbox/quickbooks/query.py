"""QBO's query language, the subset the app needs:

    SELECT * | COUNT(*) FROM <Entity> [WHERE <cond> [AND <cond>]...]
        [ORDERBY <field> [ASC|DESC][, ...]] [STARTPOSITION n] [MAXRESULTS n]

with `cond` one of `field = | < | > | <= | >= | != value`, `field IN (v, ...)`,
`field LIKE '%text%'`. Strings are single-quoted with `\\'` for an apostrophe; keywords are
case-insensitive, entity names are not. No OR, no projections. STARTPOSITION is 1-based,
MAXRESULTS defaults to 100 and stops at 1000. Name-list entities (Customer, Item, Account)
leave out inactive ones unless the query filters on `Active`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.company import Company
from sandbox.quickbooks.entities import public
from sandbox.quickbooks.formats import parse_datetime, to_decimal

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_CAP = 1000
_META = ("MetaData.CreateTime", "MetaData.LastUpdatedTime")
QUERYABLE: dict[str, frozenset[str]] = {
    "Customer": frozenset(
        {
            "Id",
            "DisplayName",
            "GivenName",
            "FamilyName",
            "MiddleName",
            "CompanyName",
            "PrintOnCheckName",
            "FullyQualifiedName",
            "PrimaryEmailAddr",
            "Active",
            "Balance",
            "Job",
            *_META,
        }
    ),
    "Item": frozenset({"Id", "Name", "FullyQualifiedName", "Type", "Active", "Sku", *_META}),
    "Invoice": frozenset(
        {
            "Id",
            "DocNumber",
            "TxnDate",
            "DueDate",
            "CustomerRef",
            "TotalAmt",
            "Balance",
            "EmailStatus",
            "PrintStatus",
            *_META,
        }
    ),
    "Payment": frozenset({"Id", "TxnDate", "CustomerRef", "TotalAmt", *_META}),
    "Account": frozenset({"Id", "Name", "AccountType", "Active", *_META}),
    "TaxCode": frozenset({"Id", "Name", "Active"}),
}
NAME_LISTS = frozenset({"Customer", "Item", "Account", "TaxCode"})
KEYWORDS = frozenset(
    {
        "select",
        "from",
        "where",
        "and",
        "in",
        "like",
        "orderby",
        "order",
        "by",
        "asc",
        "desc",
        "startposition",
        "maxresults",
        "count",
        "true",
        "false",
        "or",
    }
)

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:\\.|[^'\\])*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),*])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    position: int

    @property
    def keyword(self) -> str | None:
        lower = self.text.lower()
        return lower if self.kind == "word" and lower in KEYWORDS else None


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    values: tuple[object, ...]


@dataclass(slots=True)
class Query:
    entity: str
    count: bool = False
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    text = text.rstrip().rstrip(";")
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            snippet = text[position:].lstrip()[:20]
            raise errors.parse_error(
                f'Encountered " {snippet!r} " at line 1, column {position + 1}.'
            )
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "string":
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        tokens.append(Token(kind, raw, match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            raise errors.parse_error(f'Encountered "<EOF>". Was expecting {expected}.')
        self.index += 1
        return token

    def fail(self, token: Token, expected: str) -> errors.QboFault:
        return errors.parse_error(
            f'Encountered " {token.text} " at line 1, column {token.position + 1}. '
            f"Was expecting {expected}."
        )

    def keyword(self, word: str) -> None:
        token = self.next(word.upper())
        if token.keyword != word:
            raise self.fail(token, word.upper())

    def punct(self, char: str) -> None:
        token = self.next(repr(char))
        if token.text != char or token.kind != "punct":
            raise self.fail(token, repr(char))

    def value(self) -> object:
        token = self.next("a value")
        if token.kind == "string":
            return token.text
        if token.kind == "number":
            return Decimal(token.text)
        if token.keyword in ("true", "false"):
            return token.keyword == "true"
        raise self.fail(token, "a value")

    def parse(self) -> Query:
        self.keyword("select")
        first = self.next("'*' or COUNT(*)")
        counting = False
        if first.keyword == "count":
            self.punct("(")
            self.punct("*")
            self.punct(")")
            counting = True
        elif first.text != "*":
            raise self.fail(first, "'*' or COUNT(*)")
        self.keyword("from")
        entity = self.next("an entity name")
        if entity.kind != "word" or entity.keyword is not None:
            raise self.fail(entity, "an entity name")
        if entity.text not in QUERYABLE:
            raise errors.parse_error(f"Invalid context declaration : {entity.text}")
        query = Query(entity.text, count=counting)
        where = self.peek()
        if where is not None and where.keyword == "where":
            self.index += 1
            query.conditions.append(self.condition(query))
            while (token := self.peek()) is not None and token.keyword in ("and", "or"):
                if token.keyword == "or":
                    raise self.fail(token, "AND (QuickBooks queries have no OR)")
                self.index += 1
                query.conditions.append(self.condition(query))
        while (token := self.peek()) is not None:
            self.index += 1
            if token.keyword == "orderby" or token.keyword == "order":
                if token.keyword == "order":
                    self.keyword("by")
                query.order = self.order(query)
            elif token.keyword in ("startposition", "maxresults"):
                number = self.next("a number")
                if number.kind != "number" or "." in number.text:
                    raise self.fail(number, "an integer")
                if token.keyword == "startposition":
                    query.start_position = max(1, int(number.text))
                else:
                    query.max_results = max(0, min(int(number.text), MAX_RESULTS_CAP))
            else:
                raise self.fail(token, "ORDERBY, STARTPOSITION, MAXRESULTS or the end")
        return query

    def field_name(self, query: Query) -> str:
        token = self.next("a property name")
        if token.kind != "word" or token.keyword is not None:
            raise self.fail(token, "a property name")
        if token.text not in QUERYABLE[query.entity]:
            raise errors.invalid_query(
                f"property '{token.text}' is not queryable for entity {query.entity}"
            )
        return token.text

    def condition(self, query: Query) -> Condition:
        name = self.field_name(query)
        token = self.next("an operator")
        if token.kind == "op":
            op = "!=" if token.text == "<>" else token.text
            return Condition(name, op, (self.value(),))
        if token.keyword == "in":
            self.punct("(")
            values = [self.value()]
            while (nxt := self.peek()) is not None and nxt.text == ",":
                self.index += 1
                values.append(self.value())
            self.punct(")")
            return Condition(name, "in", tuple(values))
        if token.keyword == "like":
            pattern = self.value()
            if not isinstance(pattern, str):
                raise self.fail(token, "a quoted pattern")
            return Condition(name, "like", (pattern,))
        raise self.fail(token, "an operator")

    def order(self, query: Query) -> list[tuple[str, bool]]:
        order = [(self.field_name(query), self.direction())]
        while (token := self.peek()) is not None and token.text == ",":
            self.index += 1
            order.append((self.field_name(query), self.direction()))
        return order

    def direction(self) -> bool:
        token = self.peek()
        if token is not None and token.keyword in ("asc", "desc"):
            self.index += 1
            return token.keyword == "desc"
        return False


def parse(text: str) -> Query:
    if not text or not text.strip():
        raise errors.parse_error('Encountered "<EOF>" at line 1, column 1.')
    return _Parser(text).parse()


# --- evaluation ----------------------------------------------------------------------------


def _field(entity: dict[str, Any], name: str) -> object:
    value: object = entity
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict):
        value = value.get("value", value.get("Address"))
    return value


def _comparable(stored: object, given: object, name: str) -> tuple[Any, Any] | None:
    if stored is None:
        return None
    if isinstance(stored, bool) or isinstance(given, bool):
        if isinstance(given, str):
            given = given.lower() == "true"
        return (stored, given) if isinstance(stored, bool) else None
    if name.startswith("MetaData.") or name in ("TxnDate", "DueDate"):
        left = parse_datetime(str(stored))
        right = parse_datetime(str(given))
        if left is None or right is None:
            raise errors.invalid_query(f"'{given}' is not a valid date/time for {name}")
        return left, right
    if name == "Id" or isinstance(stored, Decimal | int | float):
        left_num, right_num = to_decimal(stored), to_decimal(given)
        if left_num is not None and right_num is not None:
            return left_num, right_num
    return str(stored), str(given)


def _like(pattern: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in pattern.split("%")]
    return re.compile("^" + ".*".join(parts) + "$", re.IGNORECASE | re.DOTALL)


def _matches(entity: dict[str, Any], condition: Condition) -> bool:
    stored = _field(entity, condition.field)
    if condition.op == "like":
        return stored is not None and bool(_like(str(condition.values[0])).match(str(stored)))
    if condition.op == "in":
        return any(_compare(stored, v, "=", condition.field) for v in condition.values)
    return _compare(stored, condition.values[0], condition.op, condition.field)


def _compare(stored: object, given: object, op: str, name: str) -> bool:
    pair = _comparable(stored, given, name)
    if pair is None:
        return False
    left, right = pair
    try:
        if op == "=":
            return bool(left == right)
        if op == "!=":
            return bool(left != right)
        if op == "<":
            return bool(left < right)
        if op == ">":
            return bool(left > right)
        if op == "<=":
            return bool(left <= right)
        return bool(left >= right)
    except TypeError:
        return False


def _sort_key(value: object) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, value)
    number = to_decimal(value) if not isinstance(value, str) or value.isdigit() else None
    if number is not None:
        return (2, number)
    moment = parse_datetime(value) if isinstance(value, str) and len(value) >= 10 else None
    if isinstance(moment, datetime):
        return (3, moment)
    return (4, str(value).casefold())


def run(company: Company, text: str) -> dict[str, Any]:
    """The `QueryResponse` object of a query."""
    query = parse(text)
    rows = [
        public(company, query.entity, e)
        for e in company.entities[query.entity].values()
        if company.visible_to_queries(e)
    ]
    conditions = list(query.conditions)
    if query.entity in NAME_LISTS and not any(c.field == "Active" for c in conditions):
        conditions.append(Condition("Active", "=", (True,)))
    rows = [r for r in rows if all(_matches(r, c) for c in conditions)]
    if query.count:
        return {"totalCount": len(rows)}
    rows.sort(key=lambda r: _sort_key(r["Id"]))
    for name, descending in reversed(query.order):
        rows.sort(key=lambda r, n=name: _sort_key(_field(r, n)), reverse=descending)  # type: ignore[misc]
    page = rows[query.start_position - 1 : query.start_position - 1 + query.max_results]
    if not page:
        return {}
    return {query.entity: page, "startPosition": query.start_position, "maxResults": len(page)}
