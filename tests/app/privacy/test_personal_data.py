"""Atlassian's personal data reporting, against the emulator's report-accounts API through
each door: a closed account's name is erased everywhere the site stored it, finalized
invoices included, while the invoices keep their lines and totals; other sites keep theirs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from app.jobs import CATALOG
from tests.app.privacy.sites import MIA, BilledSite, bill_site
from tests.support.world import World, jira_world

OTHER_SITE_URL = "https://globex.atlassian.net"


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path, forge=True) as world:
        yield world


async def report_job(world: World) -> None:
    await CATALOG.periodic["report-personal-data"].run(world.runtime)


async def stored_names(world: World, tenant_id: int) -> set[str]:
    """Every name the site's rows hold: worklogs, invoice worklog links, line texts."""
    names: set[str] = set()
    async with world.runtime.sessions() as session:
        for sql in (
            "SELECT author_display_name FROM worklogs WHERE tenant_id = :t",
            "SELECT author_display_name FROM invoice_worklogs WHERE tenant_id = :t",
            "SELECT description FROM invoice_lines WHERE tenant_id = :t",
        ):
            names |= {r for r in (await session.execute(text(sql), {"t": tenant_id})).scalars()}
    return names


async def seen_invoice(world: World, billed: BilledSite) -> dict[str, object]:
    response = await billed.api(world, "GET", f"/api/invoices/{billed.invoice['id']}")
    assert response.status_code == 200, response.text
    body = response.json()
    return {
        "total": body["total"],
        "number": body["number"],
        "lines": sorted(
            (line["description"], line["hours"], line["amount"]) for line in body["lines"]
        ),
    }


@pytest.mark.parametrize("forge", [False, True], ids=["connect", "forge"])
async def test_a_closed_account_is_erased_and_the_invoice_keeps_its_record(
    world: World, forge: bool
) -> None:
    billed = await bill_site(world, world.site, forge=forge)
    other = await bill_site(world, world.jira.add_site(OTHER_SITE_URL), forge=forge)
    assert "Mia Krystof" in await stored_names(world, billed.tenant_id)

    world.site.close_account(MIA)
    await report_job(world)

    reports = world.site.privacy.reports
    assert [r.door for r in reports] == ["forge" if forge else "connect"]
    assert MIA in reports[0].account_ids and len(reports[0].account_ids) <= 90
    names = await stored_names(world, billed.tenant_id)
    assert "Mia Krystof" not in names and "Former user" in names
    invoice = await seen_invoice(world, billed)
    assert invoice["total"] == "250.00" and invoice["number"] == billed.invoice["number"]
    assert invoice["lines"] == [("Ada Admin", "1.00", "100.00"), ("Former user", "1.50", "150.00")]
    worklogs = (await billed.api(world, "GET", "/api/worklogs")).json()["items"]
    assert {w["author"]["display_name"] for w in worklogs} == {"Ada Admin", "Former user"}
    # The other site's report said nothing: its rows keep the name.
    assert "Mia Krystof" in await stored_names(world, other.tenant_id)

    # Reported once a cycle: a second run the same day sends nothing.
    await report_job(world)
    assert len(world.site.privacy.reports) == 1


async def test_a_throttled_report_waits_the_retry_after_then_goes_on(world: World) -> None:
    billed = await bill_site(world, world.site)
    world.site.close_account(MIA)
    world.site.privacy.throttle(7)

    await report_job(world)

    assert [r.status_code for r in world.site.privacy.reports] == [429, 200]
    assert 7 in world.sleeps.delays
    assert "Mia Krystof" not in await stored_names(world, billed.tenant_id)


async def test_while_erasing_a_finalized_invoice_may_change_names_only(world: World) -> None:
    billed = await bill_site(world, world.site)
    args = {"t": billed.tenant_id}
    with pytest.raises(Exception, match="invoice_locked"):
        async with world.runtime.sessions() as session:
            await session.execute(
                text("INSERT INTO personal_data_erasing (tenant_id) VALUES (:t)"), args
            )
            await session.execute(
                text("UPDATE invoice_lines SET amount = amount + 1 WHERE tenant_id = :t"), args
            )
    async with world.runtime.sessions() as session:
        amounts = (
            await session.execute(
                text("SELECT amount FROM invoice_lines WHERE tenant_id = :t ORDER BY amount"), args
            )
        ).scalars()
        assert [Decimal(str(a)) for a in amounts] == [Decimal("100.00"), Decimal("150.00")]
