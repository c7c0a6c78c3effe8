"""The invoice as the customer sees it, once it is in QuickBooks: QuickBooks' PDF streamed
through the app (`GET /api/invoices/{id}/pdf`), a single-use link to it for pages that must
open it outside Jira (`POST /api/invoices/{id}/pdf-link`, the Forge door's way), and the
`quickbooks.url` deep link into QuickBooks' web app."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from pypdf import PdfReader

from app.quickbooks.invoice_status import web_app_url
from tests.app.quickbooks.invoicing import (
    error_of,
    finalized_invoice,
    invoicing_world,
    linked_client,
    synced,
)
from tests.support.world import World

HTML = {"Accept": "text/html"}
PDF_ROUTE = "/v3/company/{realmId}/invoice/{invoiceId}/pdf"


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with invoicing_world(database_url, tmp_path) as world:
        yield world


def pdf_text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


async def synced_invoice(world: World) -> tuple[int, dict[str, object]]:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)
    block = await synced(world, int(invoice["id"]))
    return int(invoice["id"]), block


async def pdf_link(world: World, invoice_id: int, account_id: str = "user-admin") -> str:
    response = await world.api(
        "POST", f"/api/invoices/{invoice_id}/pdf-link", account_id=account_id
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"url", "expires_at"}
    url: str = response.json()["url"]
    return url


async def test_the_pdf_is_quickbooks_own_with_the_invoice_as_the_customer_sees_it(
    world: World,
) -> None:
    invoice_id, block = await synced_invoice(world)

    response = await world.api("GET", f"/api/invoices/{invoice_id}/pdf", account_id="user-1")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    number = block["doc_number"]
    assert response.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    assert response.headers["cache-control"] == "no-store"
    text = pdf_text(response.content)
    assert f"INVOICE {number}" in text
    assert "Bill to Acme" in text
    assert f"Total USD {block['total']}" in text
    # Read from QuickBooks each time, as a PDF: nothing kept here to go stale.
    assert world.quickbooks.calls.count("GET", PDF_ROUTE) == 1
    again = await world.api("GET", f"/api/invoices/{invoice_id}/pdf", account_id="user-1")
    assert again.content == response.content
    assert world.quickbooks.calls.count("GET", PDF_ROUTE) == 2


async def test_the_block_links_to_the_invoice_in_quickbooks(world: World) -> None:
    invoice_id, block = await synced_invoice(world)

    assert block["url"] == (
        f"https://app.sandbox.qbo.intuit.com/app/invoice?txnId={block['invoice_id']}"
    )
    listed = await world.api("GET", "/api/invoices")
    (item,) = [i for i in listed.json()["items"] if i["id"] == invoice_id]
    assert item["quickbooks"]["url"] == block["url"]
    assert web_app_url("production", "42") == "https://app.qbo.intuit.com/app/invoice?txnId=42"


async def test_an_invoice_not_in_quickbooks_has_no_pdf_and_no_link(world: World) -> None:
    client_id, _ = await linked_client(world)
    invoice = await finalized_invoice(world, client_id)

    for method, path in (("GET", "pdf"), ("POST", "pdf-link")):
        response = await world.api(method, f"/api/invoices/{invoice['id']}/{path}")
        status, code, message = error_of(response)
        assert (status, code) == (409, "invoice_not_synced"), path
        assert "Sync with QB" in message
    assert world.quickbooks.calls.count("GET", PDF_ROUTE) == 0
    listed = await world.api("GET", f"/api/invoices/{invoice['id']}")
    assert listed.json()["quickbooks"]["url"] is None


async def test_another_sites_invoice_is_not_found(world: World) -> None:
    invoice_id, _ = await synced_invoice(world)
    globex = world.jira.add_site("https://globex.atlassian.net")
    globex.add_user("Gil Admin", account_id="user-gil", global_permissions=["ADMINISTER"])
    await world.install(globex)
    await world.settle()

    for method, path in (("GET", "pdf"), ("POST", "pdf-link")):
        response = await world.api(
            method, f"/api/invoices/{invoice_id}/{path}", account_id="user-gil", site=globex
        )
        assert error_of(response)[:2] == (404, "invoice_not_found"), path
    assert world.quickbooks.calls.count("GET", PDF_ROUTE) == 0


async def test_a_reader_who_may_not_see_money_gets_no_pdf(world: World) -> None:
    invoice_id, _ = await synced_invoice(world)
    patched = await world.api("PATCH", "/api/settings", json={"readers_see_money": False})
    assert patched.status_code == 200, patched.text

    for method, path in (("GET", "pdf"), ("POST", "pdf-link")):
        response = await world.api(
            method, f"/api/invoices/{invoice_id}/{path}", account_id="user-1"
        )
        assert error_of(response)[:2] == (403, "money_hidden"), path
    assert world.quickbooks.calls.count("GET", PDF_ROUTE) == 0
    # The billing group still gets it.
    shown = await world.api("GET", f"/api/invoices/{invoice_id}/pdf")
    assert shown.status_code == 200


async def test_a_link_opens_the_pdf_once_in_a_tab_of_its_own(world: World) -> None:
    invoice_id, block = await synced_invoice(world)
    url = await pdf_link(world, invoice_id, account_id="user-1")
    assert url.startswith("https://worklog360.test/quickbooks/invoice-pdf?link=")
    token = parse_qs(urlsplit(url).query)["link"][0]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["inv"] == invoice_id and claims["sub"] == "user-1"
    assert claims["exp"] - claims["iat"] == 300

    opened = await world.client.get(url, headers=HTML)  # no Jira token: the link is the key

    assert opened.status_code == 200
    assert opened.headers["content-disposition"] == (
        f'inline; filename="{block["doc_number"]}.pdf"'
    )
    assert f"INVOICE {block['doc_number']}" in pdf_text(opened.content)
    again = await world.client.get(url, headers=HTML)
    assert again.status_code == 409
    assert 'data-outcome="link_used"' in again.text and "Download PDF" in again.text
    assert "quickbooks-connect" not in again.text  # no message to a Settings page
    assert world.quickbooks.calls.count("GET", PDF_ROUTE) == 1


async def test_a_link_expires_after_five_minutes(world: World) -> None:
    invoice_id, _ = await synced_invoice(world)
    url = await pdf_link(world, invoice_id)
    world.quickbooks.clock.advance(301)

    page = await world.client.get(url, headers=HTML)

    assert page.status_code == 401
    assert 'data-outcome="link_expired"' in page.text and "5 minutes" in page.text
    assert world.quickbooks.calls.count("GET", PDF_ROUTE) == 0


async def test_a_connect_link_is_no_pdf_link_and_a_pdf_link_connects_nothing(
    world: World,
) -> None:
    invoice_id, _ = await synced_invoice(world)
    pdf_token = parse_qs(urlsplit(await pdf_link(world, invoice_id)).query)["link"][0]
    connect = await world.api("POST", "/api/quickbooks/connect-link")
    assert connect.status_code == 200, connect.text
    connect_token = parse_qs(urlsplit(connect.json()["url"]).query)["link"][0]
    header, payload, signature = pdf_token.split(".")

    for bad in (connect_token, f"{header}.{payload}x.{signature}", "nonsense", ""):
        page = await world.client.get("/quickbooks/invoice-pdf", params={"link": bad}, headers=HTML)
        assert page.status_code == 401, bad
        assert 'data-outcome="link_invalid"' in page.text
    refused = await world.client.get(
        "/quickbooks/connect", params={"link": pdf_token}, headers=HTML
    )
    assert refused.status_code == 401
    assert 'data-outcome="link_invalid"' in refused.text
    assert world.quickbooks.calls.count("GET", PDF_ROUTE) == 0


async def test_a_pdf_link_of_an_uninstalled_site_opens_nothing(world: World) -> None:
    invoice_id, _ = await synced_invoice(world)
    url = await pdf_link(world, invoice_id)
    await world.jira.uninstall_app(world.site, world.app_key)

    page = await world.client.get(url, headers=HTML)

    assert page.status_code == 409
    assert 'data-outcome="tenant_inactive"' in page.text
    assert world.quickbooks.calls.count("GET", PDF_ROUTE) == 0
