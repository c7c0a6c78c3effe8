"""How billing's messages name things: in people's terms (issue keys, days as the pages
show them), never by internal ids."""

from __future__ import annotations

from datetime import date

from app.quantities import hours
from app.timeutil import human_day


def worklog_text(issue_key: str | None, started_on: date, seconds: int) -> str:
    """ "ACME-12's worklog of 1.50 h on 3 Nov 2026" (a worklog has no name of its own)."""
    issue = f"{issue_key}'s" if issue_key else "A"
    return f"{issue} worklog of {hours(seconds):.2f} h on {human_day(started_on)}"
