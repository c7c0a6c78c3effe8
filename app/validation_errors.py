"""422 messages people can act on, from the validation errors FastAPI/pydantic raise.

Pydantic's own text ("String should match pattern '^[A-Za-z0-9\\-_/.#]*$'", "Decimal input
should have no more than 2 decimal places") names a mechanism, not a fix. Each error here
becomes "<Field>: <what to do>", in the field's everyday name, and the body fields at fault
travel with the error so a page marks exactly those inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Field names whose everyday name is not just the name with spaces.
_LABELS = {
    "id": "Id",
    "q": "Search",
    "hourly_rate": "Hourly rate",
    "rate_override": "Rate",
    "default_hourly_rate": "Default hourly rate",
    "hours_cap": "Hours cap",
    "amount_cap": "Money cap",
    "starts_on": "Start date",
    "ends_on": "End date",
    "period_start": "Period start",
    "period_end": "Period end",
    "issue_date": "Issue date",
    "due_date": "Due date",
    "group_by": "One line per",
    "project_keys": "Jira projects",
    "project_key": "Jira project",
    "client_id": "Client",
    "budget_id": "Budget",
    "account_id": "Person",
    "worklog_ids": "Worklogs",
    "effective_from": "Effective from",
    "invoice_number_prefix": "Invoice number prefix",
    "next_invoice_number": "Next invoice number",
    "rounding_minutes": "Rounding minutes",
    "rounding_mode": "Rounding",
    "default_due_days": "Days until due",
    "billing_email": "Billing email",
    "customer_id": "QuickBooks customer",
    "quickbooks_item_id": "Service item",
    "quickbooks_tax_code_id": "Tax code",
}

# Patterns in the schemas, said as a rule a person can follow.
_PATTERNS = {
    r"^[A-Za-z0-9\-_/.#]*$": "use only letters, digits and - _ / . #",
    r"^[A-Z][A-Z0-9_]{0,254}$": (
        "use Jira project keys: capital letters, digits and _, starting with a letter (e.g. ACME)"
    ),
    r"^\d{1,18}$": "use Jira worklog ids (digits only)",
}


@dataclass(frozen=True, slots=True)
class Explained:
    message: str
    fields: list[str]


def label(name: str) -> str:
    return _LABELS.get(name) or name.replace("_", " ").capitalize()


def _where(location: Sequence[Any]) -> tuple[str, str | None]:
    """The field's label (with its row, for list items) and its path in the request
    (`hours`, `0.hourly_rate`, `lines.2.rate`), as the pages name their inputs."""
    parts = list(location)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts.pop(0)
    names = [p for p in parts if isinstance(p, str)]
    rows = [p for p in parts if isinstance(p, int)]
    if not names:
        return "The request", None
    text = label(names[-1])
    if rows:
        text = f"{text} in row {rows[-1] + 1}"
    return text, ".".join(str(p) for p in parts)


def _number(value: Any) -> str:
    if isinstance(value, Decimal | float):
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def _what_to_do(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "fill it in"
    if kind in ("decimal_max_places",):
        return f"use at most {ctx.get('decimal_places', 2)} decimal places (e.g. 1.25)"
    if kind in ("decimal_parsing", "decimal_type", "float_parsing", "float_type", "finite_number"):
        return "enter a number, like 1.25"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "enter a whole number"
    if kind in ("decimal_max_digits", "decimal_whole_digits"):
        return "enter a smaller number"
    if kind in ("greater_than_equal",):
        return f"enter {_number(ctx.get('ge'))} or more"
    if kind in ("greater_than",):
        return f"enter more than {_number(ctx.get('gt'))}"
    if kind in ("less_than_equal",):
        return f"enter at most {_number(ctx.get('le'))}"
    if kind in ("less_than",):
        return f"enter less than {_number(ctx.get('lt'))}"
    if kind == "string_too_long":
        return f"shorten it to {ctx.get('max_length')} characters or fewer"
    if kind == "string_too_short":
        return (
            "fill it in"
            if ctx.get("min_length") == 1
            else (f"use at least {ctx.get('min_length')} characters")
        )
    if kind == "too_long":
        return f"choose at most {ctx.get('max_length')}"
    if kind == "too_short":
        return (
            "choose at least one"
            if ctx.get("min_length") == 1
            else (f"choose at least {ctx.get('min_length')}")
        )
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(str(ctx.get("pattern")), "use the format shown on the form")
    if kind in (
        "date_parsing",
        "date_from_datetime_parsing",
        "date_type",
        "date_from_datetime_inexact",
    ):
        return "enter a date as YYYY-MM-DD"
    if kind in ("datetime_parsing", "datetime_type", "datetime_from_date_parsing"):
        return "enter a date and time (ISO 8601, with its offset)"
    if kind in ("bool_parsing", "bool_type"):
        return "choose true or false"
    if kind in ("enum", "literal_error"):
        expected = ctx.get("expected")
        return f"choose one of {expected}" if expected else "choose one of the listed values"
    if kind == "extra_forbidden":
        return "remove it: this form has no such field"
    if kind in ("json_invalid", "model_attributes_type", "dict_type", "model_type"):
        return "send a JSON object"
    if kind in ("list_type",):
        return "send a list"
    if kind in ("string_type",):
        return "enter text"
    if kind == "value_error":
        # Our own validators word their messages for people already.
        text = str(error.get("msg", ""))
        return text.removeprefix("Value error, ")
    return str(error.get("msg", "is not valid")).rstrip(".")


def explain(errors: Sequence[Mapping[str, Any]], *, limit: int = 5) -> Explained:
    sentences: list[str] = []
    fields: list[str] = []
    for error in errors[:limit]:
        where, field = _where(error.get("loc", ()))
        what = _what_to_do(error)
        sentence = f"{where}: {what}."
        if error.get("type") == "value_error" and field is None:
            sentence = what[:1].upper() + what[1:] + ("" if what.endswith(".") else ".")
        if sentence not in sentences:
            sentences.append(sentence)
        if field and field not in fields:
            fields.append(field)
    if len(errors) > limit:
        sentences.append(f"({len(errors) - limit} more.)")
    return Explained(" ".join(sentences), fields)
