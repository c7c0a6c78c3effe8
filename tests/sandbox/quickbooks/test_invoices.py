"""Invoices, customers and payments as QBO validates and computes them."""

from __future__ import annotations

from typing import Any

from sandbox.quickbooks import Company, QuickBooksSandbox
from tests.sandbox.quickbooks.conftest import Api, fault, invoice_body


async def test_create_computes_totals_and_reads_back(
    api: Api, customer: dict[str, Any], item_id: str
) -> None:
    response = await api.post("invoice", invoice_body(customer["Id"], item_id, DocNumber="W-1"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"Invoice", "time"}
    invoice = body["Invoice"]
    assert invoice["TotalAmt"] == 900.0
    assert invoice["Balance"] == 900.0
    assert invoice["DocNumber"] == "W-1"
    assert invoice["SyncToken"] == "0"
    assert invoice["EmailStatus"] == "NotSet"
    assert invoice["TxnDate"] == "2026-11-03"
    assert invoice["DueDate"] == "2026-12-03"
    assert invoice["CustomerRef"] == {"value": customer["Id"], "name": "Globex Corporation"}
    assert invoice["BillEmail"] == {"Address": "ap@globex.example"}
    assert invoice["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert invoice["MetaData"]["CreateTime"] == "2026-11-03T01:00:00-08:00"
    read = await api.get(f"invoice/{invoice['Id']}")
    assert read.json()["Invoice"] == invoice


async def test_customer_memo_is_kept_and_capped_at_1000_characters(
    api: Api, customer: dict[str, Any], item_id: str
) -> None:
    message = "Thank you for your business — Grüße from the team."
    body = invoice_body(customer["Id"], item_id, CustomerMemo={"value": message})
    created = (await api.post("invoice", body)).json()["Invoice"]
    assert created["CustomerMemo"] == {"value": message}
    assert (await api.get(f"invoice/{created['Id']}")).json()["Invoice"]["CustomerMemo"] == {
        "value": message
    }
    exactly = invoice_body(customer["Id"], item_id, CustomerMemo={"value": "é" * 1000})
    assert (await api.post("invoice", exactly)).status_code == 200
    long = invoice_body(customer["Id"], item_id, CustomerMemo={"value": "é" * 1001})
    assert fault(await api.post("invoice", long), 400, "2050")["element"] == "CustomerMemo"
    bare = invoice_body(customer["Id"], item_id, CustomerMemo=message)
    fault(await api.post("invoice", bare), 400, "2010")
    unset = (await api.post("invoice", invoice_body(customer["Id"], item_id))).json()["Invoice"]
    assert "CustomerMemo" not in unset


async def test_amount_must_equal_qty_times_unit_price(
    api: Api, customer: dict[str, Any], item_id: str
) -> None:
    bad = invoice_body(customer["Id"], item_id, qty="1.25", price="33.33", amount="41.67")
    fault(await api.post("invoice", bad), 400, "6070")
    good = invoice_body(customer["Id"], item_id, qty="1.25", price="33.33", amount="41.66")
    assert (await api.post("invoice", good)).status_code == 200


async def test_doc_number_rules(api: Api, customer: dict[str, Any], item_id: str) -> None:
    long = invoice_body(customer["Id"], item_id, DocNumber="X" * 22)
    assert fault(await api.post("invoice", long), 400, "2050")["element"] == "DocNumber"
    assert await api.post("invoice", invoice_body(customer["Id"], item_id, DocNumber="X" * 21))
    first = invoice_body(customer["Id"], item_id, DocNumber="INV-7")
    assert (await api.post("invoice", first)).status_code == 200
    error = fault(await api.post("invoice", first), 400, "6140")
    assert error["Message"] == "Duplicate Document Number Error"
    assert "DocNumber=INV-7" in error["Detail"]
    forced = await api.post("invoice", first, include="allowduplicatedocnum")
    assert forced.status_code == 200


async def test_currency_and_inactive_customer(
    qbo: QuickBooksSandbox, api: Api, company: Company, item_id: str
) -> None:
    company.preferences.multicurrency = True
    euro = qbo.add_customer(company.realm_id, "Société Générale", currency="EUR")
    usd_invoice = invoice_body(euro["Id"], item_id, CurrencyRef={"value": "USD"})
    fault(await api.post("invoice", usd_invoice), 400, "6000")
    euro_invoice = invoice_body(euro["Id"], item_id, CurrencyRef={"value": "EUR"})
    created = (await api.post("invoice", euro_invoice)).json()["Invoice"]
    assert created["CurrencyRef"]["value"] == "EUR"

    gone = qbo.add_customer(company.realm_id, "Initech", active=False)
    error = fault(await api.post("invoice", invoice_body(gone["Id"], item_id)), 400, "610")
    assert error["element"] == "CustomerRef"
    fault(await api.post("invoice", invoice_body("999", item_id)), 400, "2500")
    fault(await api.post("invoice", {"Line": []}), 400, "2020")


async def test_requestid_replay_returns_the_first_answer_and_creates_once(
    api: Api, company: Company, customer: dict[str, Any], item_id: str
) -> None:
    body = invoice_body(customer["Id"], item_id, DocNumber="R-1")
    first = await api.post("invoice", body, requestid="5f1c7a0e-attempt-1")
    second = await api.post("invoice", body, requestid="5f1c7a0e-attempt-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(company.entities["Invoice"]) == 1
    count = await api.query("select count(*) from Invoice")
    assert count.json()["QueryResponse"] == {"totalCount": 1}
    fault(await api.post("invoice", body, requestid="x" * 51), 400, "6000")


async def test_sparse_update_and_stale_sync_token(
    api: Api, customer: dict[str, Any], item_id: str
) -> None:
    invoice = (await api.post("invoice", invoice_body(customer["Id"], item_id))).json()["Invoice"]
    update = {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "hello"}
    updated = (await api.post("invoice", update)).json()["Invoice"]
    assert updated["SyncToken"] == "1"
    assert updated["PrivateNote"] == "hello"
    assert updated["TotalAmt"] == invoice["TotalAmt"]
    assert updated["Line"] == invoice["Line"]
    error = fault(await api.post("invoice", update), 400, "5010")
    assert error["Message"] == "Stale Object Error"


async def test_payments_partial_then_full(
    qbo: QuickBooksSandbox, api: Api, customer: dict[str, Any], item_id: str
) -> None:
    invoice = (await api.post("invoice", invoice_body(customer["Id"], item_id))).json()["Invoice"]
    payment = {
        "CustomerRef": {"value": customer["Id"]},
        "TotalAmt": 400.0,
        "Line": [{"Amount": 400.0, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }
    created = await api.post("payment", payment)
    assert created.status_code == 200, created.text
    paid = created.json()["Payment"]
    read = (await api.get(f"invoice/{invoice['Id']}")).json()["Invoice"]
    assert read["Balance"] == 500.0
    assert read["TotalAmt"] == 900.0
    assert read["LinkedTxn"] == [{"TxnId": paid["Id"], "TxnType": "Payment"}]

    qbo.pay_invoice(api.realm_id, invoice["Id"])  # the user records the rest in QuickBooks
    read = (await api.get(f"invoice/{invoice['Id']}")).json()["Invoice"]
    assert read["Balance"] == 0.0
    assert len(read["LinkedTxn"]) == 2
    too_much = {**payment, "TotalAmt": 1.0, "Line": [{**payment["Line"][0], "Amount": 1.0}]}
    fault(await api.post("payment", too_much), 400, "6000")
    customer_now = (await api.get(f"customer/{customer['Id']}")).json()["Customer"]
    assert customer_now["Balance"] == 0.0


async def test_void_delete_send_and_cdc(
    qbo: QuickBooksSandbox, api: Api, customer: dict[str, Any], item_id: str
) -> None:
    since = "2026-11-03T00:00:00-08:00"
    voided = (await api.post("invoice", invoice_body(customer["Id"], item_id))).json()["Invoice"]
    deleted = (await api.post("invoice", invoice_body(customer["Id"], item_id))).json()["Invoice"]
    sent = (await api.post("invoice", invoice_body(customer["Id"], item_id))).json()["Invoice"]

    qbo.clock.advance(60)
    result = await api.post("invoice", {"Id": voided["Id"], "SyncToken": "0"}, operation="void")
    assert result.status_code == 200
    after = result.json()["Invoice"]
    assert (after["TotalAmt"], after["Balance"]) == (0.0, 0.0)
    assert after["PrivateNote"].startswith("Voided")

    gone = await api.post("invoice", {"Id": deleted["Id"], "SyncToken": "0"}, operation="delete")
    assert gone.json()["Invoice"]["status"] == "Deleted"
    fault(await api.get(f"invoice/{deleted['Id']}"), 400, "610")

    emailed = await api.post(f"invoice/{sent['Id']}/send", None, sendTo="ap@globex.example")
    assert emailed.json()["Invoice"]["EmailStatus"] == "EmailSent"
    assert emailed.json()["Invoice"]["DeliveryInfo"]["DeliveryType"] == "Email"

    cdc = await api.get("cdc", entities="Invoice,Payment", changedSince=since)
    assert cdc.status_code == 200
    blocks = cdc.json()["CDCResponse"][0]["QueryResponse"]
    invoices = {i["Id"]: i for i in blocks[0]["Invoice"]}
    assert invoices[deleted["Id"]]["status"] == "Deleted"
    assert set(invoices[deleted["Id"]]) == {"domain", "status", "Id", "MetaData"}
    assert invoices[voided["Id"]]["TotalAmt"] == 0.0
    assert "Payment" not in blocks[1]

    later = await api.get("cdc", entities="Invoice", changedSince="2026-11-03T01:00:30-08:00")
    later_ids = {i["Id"] for i in later.json()["CDCResponse"][0]["QueryResponse"][0]["Invoice"]}
    assert later_ids == {voided["Id"], deleted["Id"], sent["Id"]}
    qbo.clock.advance(days=31)
    api.access_token = str(qbo.connect("w360-client", api.realm_id)["access_token"])
    fault(await api.get("cdc", entities="Invoice", changedSince=since), 400, "10000")


async def test_user_edits_an_invoice_total(
    qbo: QuickBooksSandbox, api: Api, customer: dict[str, Any], item_id: str
) -> None:
    invoice = (await api.post("invoice", invoice_body(customer["Id"], item_id))).json()["Invoice"]
    qbo.pay_invoice(api.realm_id, invoice["Id"], "100.00")
    qbo.add_invoice_line(api.realm_id, invoice["Id"], "50.00")
    read = (await api.get(f"invoice/{invoice['Id']}")).json()["Invoice"]
    assert read["TotalAmt"] == 950.0
    assert read["Balance"] == 850.0


async def test_customers_names_are_unique_and_sparse_updates(api: Api) -> None:
    created = await api.post("customer", {"DisplayName": "O'Brien & Söhne"})
    assert created.status_code == 200
    customer = created.json()["Customer"]
    assert customer["CurrencyRef"]["value"] == "USD"
    assert customer["Active"] is True
    fault(await api.post("customer", {"DisplayName": "o'brien & söhne"}), 400, "6240")
    inactive = await api.post(
        "customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert inactive.json()["Customer"]["Active"] is False
    assert inactive.json()["Customer"]["DisplayName"] == "O'Brien & Söhne"


async def test_items_need_an_income_account(api: Api) -> None:
    fault(await api.post("item", {"Name": "Hours", "Type": "Service"}), 400, "2020")
    fault(
        await api.post(
            "item", {"Name": "Hours", "Type": "Service", "IncomeAccountRef": {"value": "999"}}
        ),
        400,
        "2500",
    )
    accounts = (await api.query("select * from Account where AccountType = 'Income'")).json()
    income = accounts["QueryResponse"]["Account"][0]["Id"]
    item = await api.post(
        "item", {"Name": "Hours", "Type": "Service", "IncomeAccountRef": {"value": income}}
    )
    assert item.status_code == 200
    assert item.json()["Item"]["Type"] == "Service"


async def test_non_us_companies_need_a_tax_code_and_add_tax(qbo: QuickBooksSandbox) -> None:
    uk = qbo.add_company("Acme Ltd", country="GB", home_currency="GBP")
    customer = qbo.add_customer(uk.realm_id, "Tesco")
    item = qbo.services_item(uk.realm_id)["Id"]
    from sandbox.quickbooks import invoices as invoice_rules
    from sandbox.quickbooks.errors import QboFault

    try:
        invoice_rules.create(uk, invoice_body(customer["Id"], item))
    except QboFault as error:
        assert error.code == "6000"
    else:
        raise AssertionError("expected a VAT fault")
    body = invoice_body(customer["Id"], item, qty="1", price="100")
    body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "2"}
    invoice = invoice_rules.create(uk, body)
    assert str(invoice["TotalAmt"]) == "120.00"


async def test_a_payment_keeps_its_reference_number(
    qbo: QuickBooksSandbox, api: Api, company: Company, customer: dict[str, Any], item_id: str
) -> None:
    invoice = (await api.post("invoice", invoice_body(customer["Id"], item_id))).json()["Invoice"]
    payment = qbo.pay_invoice(company.realm_id, invoice["Id"], "100.00", reference="CHQ 004512")
    read = (await api.get(f"payment/{payment['Id']}")).json()["Payment"]
    assert read["PaymentRefNum"] == "CHQ 004512"
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "TotalAmt": 10,
        "PaymentRefNum": "R" * 22,
    }
    assert fault(await api.post("payment", body), 400, "2050")["element"] == "PaymentRefNum"
