"""Money, times and JSON as QuickBooks writes them.

Money is held as `Decimal` and leaves as a JSON number. Times leave as ISO 8601 with the
Pacific offset QBO's servers use (`2026-11-03T01:00:00-08:00`); dates are the company's
Pacific calendar date (`yyyy-MM-dd`).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import JSONResponse

SERVER_ZONE = ZoneInfo("America/Los_Angeles")
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: object) -> Decimal | None:
    """A JSON number or numeric string as Decimal; None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float | str):
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            return None
        return result if result.is_finite() else None
    return None


def qbo_time(moment: datetime) -> str:
    local = moment.astimezone(SERVER_ZONE)
    return local.isoformat(timespec="seconds")


def response_time(moment: datetime) -> str:
    """The `time` stamp of a response: milliseconds and the Pacific offset."""
    return moment.astimezone(SERVER_ZONE).isoformat(timespec="milliseconds")


def qbo_date(moment: datetime) -> str:
    return moment.astimezone(SERVER_ZONE).date().isoformat()


def parse_datetime(text: str) -> datetime | None:
    """ISO 8601 date or date-time; naive values are read as Pacific time, as QBO does."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=SERVER_ZONE)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SERVER_ZONE)
    return moment.astimezone(UTC)


def parse_date(text: object) -> date | None:
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def plain(value: Any) -> Any:
    """A stored entity ready for `json.dumps`: Decimals become JSON numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def load_json(raw: bytes) -> Any:
    """Parse a request body keeping numbers exact (`Decimal` for anything with a point)."""
    return json.loads(raw, parse_float=Decimal)


class QboJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(plain(content), ensure_ascii=False, separators=(",", ":")).encode()
