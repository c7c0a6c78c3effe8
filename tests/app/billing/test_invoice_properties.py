"""Property: for any worklogs, rates and rounding rule, a generated invoice is exactly what
the money rules in Python say — each line's hours are its worklogs' billed seconds (the
Python rounding rule) to 2 places, its rate is the rate the Worklogs list resolves (the
Python rate rule, down to the site default when neither the budget nor the client has a
rate, with each level's dated rates), its amount is round_half_up(hours * rate, 2), and
the lines sum to the total. The invoice is priced inside the database, so this pins SQL to
the Python rules on both SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.billing import invoices
from app.billing.invoice_schemas import GroupBy, InvoiceGenerate
from app.billing.models import (
    BillingSettings,
    Budget,
    BudgetMemberRate,
    BudgetProject,
    Client,
    DatedRate,
    WorklogRateOverride,
)
from app.billing.money import RoundingMode, billed_seconds, hours, line_amount
from app.billing.rates import RateBook
from app.db import transaction
from app.worklogs.models import JiraIssue, Worklog
from tests.support.db import add_tenant, session_factory

_tenants = itertools.count(1)
START = date(2026, 11, 1)
PEOPLE = ["ada", "bo", "cy"]

rates = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("999.99"), places=2)
worklog = st.fixed_dictionaries(
    {
        "issue": st.integers(0, 3),
        "person": st.sampled_from(PEOPLE),
        # Half-minute multiples often sit exactly halfway between rounding steps.
        "seconds": st.integers(1, 12 * 3600) | st.integers(1, 1440).map(lambda n: n * 30),
        "day": st.integers(0, 29),
        "override": st.none() | rates,
    }
)
member_rate = st.tuples(st.sampled_from(PEOPLE), st.integers(0, 29), rates)
# A budget's, the client's or the site's rate from a day on.
dated_rate = st.tuples(st.sampled_from(["budget", "client", "site"]), st.integers(0, 29), rates)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    worklogs=st.lists(worklog, min_size=1, max_size=25),
    member_rates=st.lists(member_rate, max_size=4, unique_by=lambda r: (r[0], r[1])),
    dated_rates=st.lists(dated_rate, max_size=4, unique_by=lambda r: (r[0], r[1])),
    budget_rate=st.none() | rates,
    client_rate=st.none() | rates,
    site_rate=rates,
    mode=st.sampled_from(list(RoundingMode)),
    minutes=st.sampled_from([1, 6, 15, 30, 60]),
    group_by=st.sampled_from(list(GroupBy)),
)
@example(  # exactly halfway between two 15-minute steps, and just below
    worklogs=[
        {"issue": 0, "person": "ada", "seconds": 450, "day": 0, "override": None},
        {"issue": 1, "person": "bo", "seconds": 449, "day": 0, "override": None},
        {"issue": 2, "person": "cy", "seconds": 1350, "day": 0, "override": None},
    ],
    member_rates=[],
    dated_rates=[],
    budget_rate=Decimal("100.00"),
    client_rate=Decimal("1.00"),
    site_rate=Decimal("2.00"),
    mode=RoundingMode.NEAREST,
    minutes=15,
    group_by=GroupBy.WORKLOG,
)
@example(  # each worklog up to the next step
    worklogs=[{"issue": 0, "person": "ada", "seconds": 901, "day": 0, "override": None}],
    member_rates=[],
    dated_rates=[],
    budget_rate=None,
    client_rate=Decimal("33.33"),
    site_rate=Decimal("2.00"),
    mode=RoundingMode.UP,
    minutes=15,
    group_by=GroupBy.ISSUE,
)
@example(  # neither the budget nor the client has a rate: the site default prices the rest
    worklogs=[
        {"issue": 0, "person": "ada", "seconds": 1800, "day": 0, "override": None},
        {"issue": 0, "person": "bo", "seconds": 2700, "day": 5, "override": None},
        {"issue": 0, "person": "cy", "seconds": 900, "day": 9, "override": Decimal("80.00")},
    ],
    member_rates=[("bo", 0, Decimal("60.00"))],
    dated_rates=[],
    budget_rate=None,
    client_rate=None,
    site_rate=Decimal("45.50"),
    mode=RoundingMode.NONE,
    minutes=15,
    group_by=GroupBy.ISSUE,
)
async def test_lines_follow_the_money_rules_and_sum_to_the_total(
    database_url: str,
    worklogs: list[dict[str, object]],
    member_rates: list[tuple[str, int, Decimal]],
    dated_rates: list[tuple[str, int, Decimal]],
    budget_rate: Decimal | None,
    client_rate: Decimal | None,
    site_rate: Decimal,
    mode: RoundingMode,
    minutes: int,
    group_by: GroupBy,
) -> None:
    async with session_factory(database_url) as sessions:
        tenant_id = await add_tenant(sessions, f"prop-{next(_tenants)}")
        async with transaction(sessions) as session:
            session.add(
                BillingSettings(
                    tenant_id=tenant_id,
                    rounding_mode=mode.value,
                    rounding_minutes=0 if mode is RoundingMode.NONE else minutes,
                    default_hourly_rate=site_rate,
                )
            )
            client = Client(
                tenant_id=tenant_id, name="C", name_key="c", currency="EUR", hourly_rate=client_rate
            )
            session.add(client)
            await session.flush()
            budget = Budget(
                tenant_id=tenant_id,
                client_id=client.id,
                name="B",
                kind="time_and_materials",
                hourly_rate=budget_rate,
                starts_on=START,
            )
            session.add(budget)
            await session.flush()
            session.add(BudgetProject(tenant_id=tenant_id, budget_id=budget.id, project_key="P"))
            for person, day, rate in member_rates:
                session.add(
                    BudgetMemberRate(
                        tenant_id=tenant_id,
                        budget_id=budget.id,
                        account_id=person,
                        effective_from=START + timedelta(days=day),
                        hourly_rate=rate,
                    )
                )
            owners = {"budget": budget.id, "client": client.id, "site": 0}
            for level, day, rate in dated_rates:
                session.add(
                    DatedRate(
                        tenant_id=tenant_id,
                        level=level,
                        owner_id=owners[level],
                        effective_from=START + timedelta(days=day),
                        hourly_rate=rate,
                    )
                )
            for issue in range(4):
                session.add(
                    JiraIssue(
                        tenant_id=tenant_id,
                        id=100 + issue,
                        key=f"P-{issue + 1}",
                        summary=f"Issue {issue + 1}",
                        project_key="P",
                    )
                )
            for number, data in enumerate(worklogs, start=1):
                started = datetime.combine(
                    START + timedelta(days=int(data["day"])),  # type: ignore[call-overload]
                    datetime.min.time(),
                    UTC,
                )
                session.add(
                    Worklog(
                        tenant_id=tenant_id,
                        id=number,
                        issue_id=100 + int(data["issue"]),  # type: ignore[call-overload]
                        author_account_id=str(data["person"]),
                        author_display_name=str(data["person"]).title(),
                        started_at=started,
                        started_offset_minutes=0,
                        started_on=started.date(),
                        time_spent_seconds=int(data["seconds"]),  # type: ignore[call-overload]
                        jira_updated_at=started,
                    )
                )
            await session.flush()  # worklogs before the overrides that name them
            for number, data in enumerate(worklogs, start=1):
                if data["override"] is not None:
                    session.add(
                        WorklogRateOverride(
                            tenant_id=tenant_id,
                            worklog_id=number,
                            hourly_rate=data["override"],
                        )
                    )
            budget_id = budget.id

        async with transaction(sessions) as session:
            view = await invoices.generate_invoice(
                session,
                tenant_id,
                budget_id,
                InvoiceGenerate(
                    period_start=START, period_end=START + timedelta(days=29), group_by=group_by
                ),
                by="ada",
            )

    # What Python's own rules say each worklog bills.
    def dated(level: str) -> list[tuple[date, Decimal]]:
        return sorted((START + timedelta(days=d), r) for lv, d, r in dated_rates if lv == level)

    book = RateBook(
        overrides={
            n: Decimal(str(w["override"]))
            for n, w in enumerate(worklogs, start=1)
            if w["override"] is not None
        },
        member_rates={
            (budget_id, person): sorted(
                (START + timedelta(days=day), rate) for p, day, rate in member_rates if p == person
            )
            for person in PEOPLE
        },
        budget_rates={budget_id: budget_rate},
        client_rates={budget_id: client_rate},
        site_default=site_rate,
        budget_dated={budget_id: dated("budget")},
        client_dated={budget_id: dated("client")},
        site_dated=dated("site"),
    )
    step = 0 if mode is RoundingMode.NONE else minutes
    expected: dict[tuple[str, Decimal], list[int]] = defaultdict(list)
    for number, data in enumerate(worklogs, start=1):
        day = START + timedelta(days=int(data["day"]))  # type: ignore[call-overload]
        resolved, _ = book.resolve(number, budget_id, str(data["person"]), day)
        assert resolved is not None
        key = {
            GroupBy.ISSUE: str(100 + int(data["issue"])),  # type: ignore[call-overload]
            GroupBy.AUTHOR: str(data["person"]),
            GroupBy.WORKLOG: str(number),
        }[group_by]
        expected[(key, resolved)].append(number)

    assert len(view.lines) == len(expected)
    total = Decimal("0.00")
    for line in view.lines:
        ids = sorted(view.worklog_ids[line.id])
        assert ids == sorted(expected[(str(line.group_key), Decimal(line.rate))])
        seconds = [int(worklogs[i - 1]["seconds"]) for i in ids]  # type: ignore[call-overload]
        billed = sum(billed_seconds(s, step, mode) for s in seconds)
        assert Decimal(line.hours) == hours(billed)
        assert Decimal(line.actual_hours or 0) == hours(sum(seconds))
        assert Decimal(line.amount) == line_amount(hours(billed), Decimal(line.rate))
        total += Decimal(line.amount)
    assert Decimal(view.invoice.total) == total
