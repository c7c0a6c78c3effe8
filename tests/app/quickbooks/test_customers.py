"""The QuickBooks customer list: read page by page (inactive ones too), cached per tenant,
searchable with apostrophes and unicode, refreshable; and linking clients to customers."""

from __future__ import annotations

from typing import Any

from app.quickbooks import service as quickbooks
from app.tenants import repository as tenants
from tests.app.quickbooks.conftest import create_client
from tests.support.world import World

QUERY_ROUTE = "/v3/company/{realmId}/query"


async def _all_customers(world: World, query: str = "", **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page_params: dict[str, Any] = {"limit": 500, **params}
        if query:
            page_params["q"] = query
        if cursor:
            page_params["cursor"] = cursor
        response = await world.api("GET", "/api/quickbooks/customers", params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        params.pop("refresh", None)
        if cursor is None:
            return items


async def test_every_customer_is_read_page_by_page_including_inactive_ones(
    connected: World,
) -> None:
    qbo, realm = connected.quickbooks, connected.realm_id
    for n in range(1203):
        qbo.add_customer(realm, f"Customer {n:04d}")
    qbo.add_customer(realm, "Dormant Ltd", active=False)

    items = await _all_customers(connected)

    assert len(items) == 1204
    assert len({i["id"] for i in items}) == 1204
    dormant = next(i for i in items if i["display_name"] == "Dormant Ltd")
    assert dormant["active"] is False
    assert set(items[0]) == {"id", "display_name", "currency", "active", "linked_client"}
    assert items[0]["currency"] == "USD"
    # 1000 a page: two queries, and later reads come from the cache.
    assert qbo.calls.count("POST", QUERY_ROUTE) == 2
    await _all_customers(connected)
    assert qbo.calls.count("POST", QUERY_ROUTE) == 2
    assert qbo.calls.without_minorversion() == []


async def test_search_is_case_insensitive_with_apostrophes_and_unicode(connected: World) -> None:
    qbo, realm = connected.quickbooks, connected.realm_id
    for name in ("O'Brien & Sons", "Zoë\u2019s Café", "Ünïcode GmbH", "Globex", "Ōsaka 株式会社"):
        qbo.add_customer(realm, name)

    async def names(q: str) -> list[str]:
        return [c["display_name"] for c in await _all_customers(connected, q)]

    assert await names("o'brien") == ["O'Brien & Sons"]
    assert await names("O\u2019BRIEN") == ["O'Brien & Sons"]
    assert await names("zoë's") == ["Zoë\u2019s Café"]
    assert await names("CAFÉ") == ["Zoë\u2019s Café"]
    assert await names("ünï") == ["Ünïcode GmbH"]
    assert await names("株式") == ["Ōsaka 株式会社"]
    assert await names("%") == []
    assert await names("_") == []
    assert len(await names("")) == 5


async def test_a_new_customer_appears_after_a_refresh(connected: World) -> None:
    qbo, realm = connected.quickbooks, connected.realm_id
    qbo.add_customer(realm, "Globex")
    assert [c["display_name"] for c in await _all_customers(connected)] == ["Globex"]
    qbo.add_customer(realm, "Initech")

    assert len(await _all_customers(connected)) == 1
    refreshed = await _all_customers(connected, refresh="true")

    assert [c["display_name"] for c in refreshed] == ["Globex", "Initech"]


async def test_customers_without_a_connection_answer_409(world: World) -> None:
    response = await world.api("GET", "/api/quickbooks/customers")
    assert response.status_code == 409
    body = response.json()["error"]
    assert body["code"] == "quickbooks_not_connected"
    assert "Settings → Integrations" in body["message"]


# --- links -----------------------------------------------------------------------------------


async def _customer_ids(world: World, *names: str, **kwargs: Any) -> list[str]:
    ids = [str(world.quickbooks.add_customer(world.realm_id, n, **kwargs)["Id"]) for n in names]
    await world.api("GET", "/api/quickbooks/customers", params={"refresh": "true"})
    return ids


async def test_link_and_unlink_a_client(connected: World) -> None:
    (globex,) = await _customer_ids(connected, "Globex Corporation")
    client_id = await create_client(connected, "Globex")

    linked = await connected.api(
        "PUT", f"/api/clients/{client_id}/quickbooks-customer", json={"customer_id": globex}
    )

    assert linked.status_code == 200, linked.text
    assert linked.json()["customer_id"] == globex
    assert linked.json()["display_name"] == "Globex Corporation"
    async with connected.runtime.sessions() as session:
        links = await quickbooks.client_links(session, await _tenant(connected), [client_id, 999])
    assert links == {
        client_id: quickbooks.CustomerLink(
            customer_id=globex, display_name="Globex Corporation", active=True, currency="USD"
        )
    }
    again = await connected.api(
        "PUT", f"/api/clients/{client_id}/quickbooks-customer", json={"customer_id": globex}
    )
    assert again.status_code == 200

    unlinked = await connected.api("DELETE", f"/api/clients/{client_id}/quickbooks-customer")

    assert unlinked.status_code == 204
    async with connected.runtime.sessions() as session:
        assert await quickbooks.client_links(session, await _tenant(connected), [client_id]) == {}


async def _tenant(world: World) -> int:
    async with world.runtime.sessions() as session:
        (installation,) = world.site.installations.values()
        tenant = await tenants.get_by_client_key(session, installation.client_key)
        assert tenant is not None
        return tenant.id


async def test_a_customer_links_to_one_client_only(connected: World) -> None:
    (globex,) = await _customer_ids(connected, "Globex Corporation")
    first = await create_client(connected, "Globex")
    second = await create_client(connected, "Globex Europe")
    await connected.api(
        "PUT", f"/api/clients/{first}/quickbooks-customer", json={"customer_id": globex}
    )

    response = await connected.api(
        "PUT", f"/api/clients/{second}/quickbooks-customer", json={"customer_id": globex}
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "customer_already_linked"
    assert "'Globex'" in error["message"]
    assert "Globex Corporation" in error["message"]


async def test_relinking_a_client_moves_it_to_the_new_customer(connected: World) -> None:
    globex, initech = await _customer_ids(connected, "Globex Corporation", "Initech")
    client_id = await create_client(connected, "Globex")
    other = await create_client(connected, "Initech")
    path = f"/api/clients/{client_id}/quickbooks-customer"
    await connected.api("PUT", path, json={"customer_id": globex})

    moved = await connected.api("PUT", path, json={"customer_id": initech})
    assert moved.status_code == 200
    assert moved.json()["customer_id"] == initech

    # Globex is free again.
    freed = await connected.api(
        "PUT", f"/api/clients/{other}/quickbooks-customer", json={"customer_id": globex}
    )
    assert freed.status_code == 200


async def test_unknown_and_inactive_customers_are_refused(connected: World) -> None:
    (dormant,) = await _customer_ids(connected, "Dormant Ltd", active=False)
    client_id = await create_client(connected, "Globex")
    path = f"/api/clients/{client_id}/quickbooks-customer"

    unknown = await connected.api("PUT", path, json={"customer_id": "98765"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "quickbooks_customer_not_found"
    assert "Refresh" in unknown.json()["error"]["message"]

    inactive = await connected.api("PUT", path, json={"customer_id": dormant})
    assert inactive.status_code == 422
    assert inactive.json()["error"]["code"] == "quickbooks_customer_inactive"


async def test_a_customer_made_inactive_later_shows_as_inactive(connected: World) -> None:
    (globex,) = await _customer_ids(connected, "Globex Corporation")
    client_id = await create_client(connected, "Globex")
    await connected.api(
        "PUT", f"/api/clients/{client_id}/quickbooks-customer", json={"customer_id": globex}
    )
    connected.quickbooks.set_customer_active(connected.realm_id, globex, False)
    await connected.api("GET", "/api/quickbooks/customers", params={"refresh": "true"})

    async with connected.runtime.sessions() as session:
        links = await quickbooks.client_links(session, await _tenant(connected), [client_id])
    assert links[client_id].active is False


async def test_another_sites_client_answers_404(connected: World) -> None:
    (globex,) = await _customer_ids(connected, "Globex Corporation")
    other_site = connected.jira.add_site("https://globex.atlassian.net")
    other_site.add_user("Gus Admin", account_id="gus", global_permissions=["ADMINISTER"])
    await connected.install(other_site)
    await connected.settle()
    response = await connected.api(
        "POST",
        "/api/clients",
        json={"name": "Theirs", "currency": "USD"},
        site=other_site,
        account_id="gus",
    )
    theirs = response.json()["id"]

    linked = await connected.api(
        "PUT", f"/api/clients/{theirs}/quickbooks-customer", json={"customer_id": globex}
    )
    unlinked = await connected.api("DELETE", f"/api/clients/{theirs}/quickbooks-customer")

    assert linked.status_code == 404
    assert linked.json()["error"]["code"] == "client_not_found"
    assert unlinked.status_code == 404


async def test_only_billing_editors_link_customers(connected: World) -> None:
    (globex,) = await _customer_ids(connected, "Globex Corporation")
    client_id = await create_client(connected, "Globex")
    path = f"/api/clients/{client_id}/quickbooks-customer"

    response = await connected.api("PUT", path, json={"customer_id": globex}, account_id="user-1")

    assert response.status_code == 403
    deleting = await connected.api("DELETE", path, account_id="user-1")
    assert deleting.status_code == 403


async def test_a_deleted_client_loses_its_link(connected: World) -> None:
    (globex,) = await _customer_ids(connected, "Globex Corporation")
    client_id = await create_client(connected, "Globex")
    other = await create_client(connected, "Globex again")
    await connected.api(
        "PUT", f"/api/clients/{client_id}/quickbooks-customer", json={"customer_id": globex}
    )

    deleted = await connected.api("DELETE", f"/api/clients/{client_id}")
    assert deleted.status_code == 204, deleted.text

    relinked = await connected.api(
        "PUT", f"/api/clients/{other}/quickbooks-customer", json={"customer_id": globex}
    )
    assert relinked.status_code == 200


# --- currencies ------------------------------------------------------------------------------


async def _client(world: World, path: str) -> dict[str, Any]:
    response = await world.api("GET", path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_client_cannot_link_to_a_customer_in_another_currency(connected: World) -> None:
    (gmbh,) = await _customer_ids(connected, "Acme GmbH")  # the company bills in USD
    client_id = await create_client(connected, "Acme", currency="EUR")

    response = await connected.api(
        "PUT", f"/api/clients/{client_id}/quickbooks-customer", json={"customer_id": gmbh}
    )

    assert response.status_code == 409, response.text
    assert response.json()["error"] == {
        "code": "currency_mismatch",
        "message": "Acme bills in EUR, but the QuickBooks customer Acme GmbH is in USD: choose "
        "a EUR customer, or change the client's currency.",
    }
    assert (await _client(connected, f"/api/clients/{client_id}"))["quickbooks"] is None


async def test_a_customer_in_the_clients_currency_links(connected: World) -> None:
    connected.quickbooks.company(connected.realm_id).preferences.multicurrency = True
    (gmbh,) = await _customer_ids(connected, "Acme GmbH", currency="EUR")
    client_id = await create_client(connected, "Acme", currency="EUR")

    response = await connected.api(
        "PUT", f"/api/clients/{client_id}/quickbooks-customer", json={"customer_id": gmbh}
    )

    assert response.status_code == 200, response.text
    assert response.json()["currency"] == "EUR"
    listed = await _all_customers(connected)
    assert [(c["display_name"], c["currency"]) for c in listed] == [("Acme GmbH", "EUR")]


async def test_a_linked_client_keeps_its_customers_currency(connected: World) -> None:
    (globex,) = await _customer_ids(connected, "Globex Corporation")
    client_id = await create_client(connected, "Globex")
    path = f"/api/clients/{client_id}"
    await connected.api("PUT", f"{path}/quickbooks-customer", json={"customer_id": globex})

    changed = await connected.api("PATCH", path, json={"currency": "EUR", "name": "Globex AG"})

    assert changed.status_code == 409, changed.text
    assert changed.json()["error"] == {
        "code": "currency_mismatch",
        "message": "Globex is linked to the QuickBooks customer Globex Corporation, which is in "
        "USD, and QuickBooks invoices a customer in its own currency only: keep USD, or unlink "
        "the customer first (Edit → QuickBooks → Unlink) and link one in EUR.",
    }
    kept = await _client(connected, path)
    assert (kept["name"], kept["currency"]) == ("Globex", "USD")
    # The same currency, or any once unlinked, is fine.
    same = await connected.api("PATCH", path, json={"currency": "USD", "name": "Globex AG"})
    assert same.status_code == 200, same.text
    await connected.api("DELETE", f"{path}/quickbooks-customer")
    euro = await connected.api("PATCH", path, json={"currency": "EUR"})
    assert euro.status_code == 200, euro.text
    assert euro.json()["currency"] == "EUR"


async def test_a_customer_without_a_currency_is_in_the_companys_home_currency(
    connected: World,
) -> None:
    """QBO names a customer's currency in CurrencyRef; a company without multicurrency
    bills every customer in its home currency (Preferences.CurrencyPrefs.HomeCurrency)."""
    (plain,) = await _customer_ids(connected, "Plain Customer")
    del connected.quickbooks.company(connected.realm_id).entities["Customer"][plain]["CurrencyRef"]
    client_id = await create_client(connected, "Plain", currency="EUR")

    listed = await _all_customers(connected, refresh="true")
    response = await connected.api(
        "PUT", f"/api/clients/{client_id}/quickbooks-customer", json={"customer_id": plain}
    )

    assert [c["currency"] for c in listed] == ["USD"]
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "currency_mismatch"


async def test_the_customer_list_says_which_client_each_customer_is_linked_to(
    connected: World,
) -> None:
    globex, initech = await _customer_ids(connected, "Globex Corporation", "Initech")
    client_id = await create_client(connected, "Globex")
    await connected.api(
        "PUT", f"/api/clients/{client_id}/quickbooks-customer", json={"customer_id": globex}
    )

    listed = {c["id"]: c["linked_client"] for c in await _all_customers(connected)}

    assert listed == {globex: {"id": client_id, "name": "Globex"}, initech: None}
