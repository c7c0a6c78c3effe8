"""Sites with something to keep: worklogs of two people, a client, a budget and a finalized
invoice with a line per person (its line texts are their names), made through the API of
either door. And the rows a site holds in every table, to see what a purge leaves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.models import Base
from app.tenants.models import Tenant
from sandbox.jira import Site
from tests.support.world import World

MIA = "user-1"  # "Mia Krystof", made by jira_world on its first site


@dataclass(frozen=True)
class BilledSite:
    site: Site
    tenant_id: int
    invoice: dict[str, Any]
    forge: bool

    async def api(self, world: World, method: str, path: str, **kwargs: Any) -> Any:
        call = world.forge_api if self.forge else world.api
        return await call(method, path, site=self.site, **kwargs)


async def bill_site(world: World, site: Site, *, forge: bool = False) -> BilledSite:
    if MIA not in site.users:
        site.add_user("Mia Krystof", account_id=MIA)
    if "user-admin" not in site.users:
        site.add_user("Ada Admin", account_id="user-admin", global_permissions=["ADMINISTER"])
    site.add_project("ALPHA", "Alpha")
    issue = site.add_issue("ALPHA", "Build it").id
    for author, day, seconds in ((MIA, 15, 5400), ("user-admin", 16, 3600)):
        site.add_worklog(
            issue,
            author,
            started=f"2026-11-{day}T09:00:00.000+0000",
            time_spent_seconds=seconds,
            notify=False,
        )
    world.jira.clock.advance(61)
    if forge:
        await world.install_forge(site)
    else:
        await world.install(site)
    await world.settle()
    billed = BilledSite(site, 0, {}, forge)
    client = await billed.api(
        world, "POST", "/api/clients", json={"name": "Acme", "currency": "USD"}
    )
    assert client.status_code == 201, client.text
    budget = await billed.api(
        world,
        "POST",
        "/api/budgets",
        json={
            "client_id": client.json()["id"],
            "name": "November",
            "project_keys": ["ALPHA"],
            "starts_on": "2026-11-01",
            "ends_on": "2026-11-30",
            "hourly_rate": "100.00",
        },
    )
    assert budget.status_code == 201, budget.text
    draft = await billed.api(
        world,
        "POST",
        f"/api/budgets/{budget.json()['id']}/invoices",
        json={"period_start": "2026-11-01", "period_end": "2026-11-30", "group_by": "author"},
    )
    assert draft.status_code == 201, draft.text
    final = await billed.api(world, "POST", f"/api/invoices/{draft.json()['id']}/finalize")
    assert final.status_code == 200, final.text
    invoice = final.json()
    assert invoice["total"] == "250.00"
    assert sorted(line["description"] for line in invoice["lines"]) == [
        "Ada Admin",
        "Mia Krystof",
    ]
    async with world.runtime.sessions() as session:
        tenant_id = (
            await session.execute(select(Tenant.id).order_by(Tenant.id.desc()).limit(1))
        ).scalar_one()
    return BilledSite(site, tenant_id, invoice, forge)


async def rows_of(world: World, tenant_id: int) -> dict[str, int]:
    """How many rows of the tenant each table holds (the tenant's own row included)."""
    counts: dict[str, int] = {}
    async with world.runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            column = table.c.id if table.name == "tenants" else table.c.get("tenant_id")
            if column is None:
                continue
            result = await session.execute(
                select(func.count()).select_from(table).where(column == tenant_id)
            )
            counts[table.name] = int(result.scalar_one())
    return counts


async def read_back(world: World, billed: BilledSite) -> dict[str, Any]:
    """What a user sees of the site: its invoice, clients and worklogs."""
    invoice = await billed.api(world, "GET", f"/api/invoices/{billed.invoice['id']}")
    clients = await billed.api(world, "GET", "/api/clients")
    worklogs = await billed.api(world, "GET", "/api/worklogs")
    for response in (invoice, clients, worklogs):
        assert response.status_code == 200, response.text
    body = invoice.json()
    return {
        "invoice": {
            k: body[k] for k in ("number", "status", "total", "issue_date", "finalized_at")
        },
        "lines": sorted(
            (line["description"], line["hours"], line["rate"], line["amount"])
            for line in body["lines"]
        ),
        "clients": sorted(c["name"] for c in clients.json()["items"]),
        "worklogs": sorted(
            (w["id"], w["hours"], w["author"]["account_id"]) for w in worklogs.json()["items"]
        ),
    }
