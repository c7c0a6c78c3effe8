"""Which hourly rate a worklog bills at, and where that rate comes from.

From most to least specific: the worklog's own override, the person's rate on the budget
(the latest one in effect on the worklog's work day), the budget's rate, the client's rate,
the site's default. Dated member rates mean a new rate never reaches work done before it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class RateSource(StrEnum):
    WORKLOG = "worklog"
    BUDGET_MEMBER = "budget_member"
    BUDGET = "budget"
    CLIENT = "client"
    SITE_DEFAULT = "site_default"


Dated = list[tuple[date, Decimal]]  # (effective_from, rate), sorted by date


def rate_on(base: Decimal | None, dated: Dated, day: date) -> Decimal | None:
    """A level's rate on a work day: its latest dated rate begun by then, else its base."""
    index = bisect_right([d for d, _ in dated], day)
    return dated[index - 1][1] if index else base


@dataclass(frozen=True, slots=True)
class RateBook:
    """Everything the rule needs for a set of worklogs, loaded in a few queries."""

    overrides: dict[int, Decimal] = field(default_factory=dict)
    # (budget, person) -> [(effective_from, rate)], sorted by date
    member_rates: dict[tuple[int, str], Dated] = field(default_factory=dict)
    budget_rates: dict[int, Decimal | None] = field(default_factory=dict)
    client_rates: dict[int, Decimal | None] = field(default_factory=dict)  # by budget
    site_default: Decimal | None = None
    # Each level's dated rates; its base rate (above) applies before the first.
    budget_dated: dict[int, Dated] = field(default_factory=dict)
    client_dated: dict[int, Dated] = field(default_factory=dict)  # by budget
    site_dated: Dated = field(default_factory=list)

    def resolve(
        self, worklog_id: int, budget_id: int | None, account_id: str, work_day: date
    ) -> tuple[Decimal | None, RateSource | None]:
        override = self.overrides.get(worklog_id)
        if override is not None:
            return override, RateSource.WORKLOG
        if budget_id is not None:
            member = rate_on(None, self.member_rates.get((budget_id, account_id), []), work_day)
            if member is not None:
                return member, RateSource.BUDGET_MEMBER
            levels = (
                (self.budget_rates, self.budget_dated, RateSource.BUDGET),
                (self.client_rates, self.client_dated, RateSource.CLIENT),
            )
            for base, dated, source in levels:
                rate = rate_on(base.get(budget_id), dated.get(budget_id, []), work_day)
                if rate is not None:
                    return rate, source
        site = rate_on(self.site_default, self.site_dated, work_day)
        if site is not None:
            return site, RateSource.SITE_DEFAULT
        return None, None
