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


@dataclass(frozen=True, slots=True)
class RateBook:
    """Everything the rule needs for a set of worklogs, loaded in a few queries."""

    overrides: dict[int, Decimal] = field(default_factory=dict)
    # (budget, person) -> [(effective_from, rate)], sorted by date
    member_rates: dict[tuple[int, str], list[tuple[date, Decimal]]] = field(default_factory=dict)
    budget_rates: dict[int, Decimal | None] = field(default_factory=dict)
    client_rates: dict[int, Decimal | None] = field(default_factory=dict)  # by budget
    site_default: Decimal | None = None

    def resolve(
        self, worklog_id: int, budget_id: int | None, account_id: str, work_day: date
    ) -> tuple[Decimal | None, RateSource | None]:
        override = self.overrides.get(worklog_id)
        if override is not None:
            return override, RateSource.WORKLOG
        if budget_id is not None:
            dated = self.member_rates.get((budget_id, account_id), [])
            index = bisect_right([d for d, _ in dated], work_day)
            if index:
                return dated[index - 1][1], RateSource.BUDGET_MEMBER
            budget_rate = self.budget_rates.get(budget_id)
            if budget_rate is not None:
                return budget_rate, RateSource.BUDGET
            client_rate = self.client_rates.get(budget_id)
            if client_rate is not None:
                return client_rate, RateSource.CLIENT
        if self.site_default is not None:
            return self.site_default, RateSource.SITE_DEFAULT
        return None, None
