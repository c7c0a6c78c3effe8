"""Invoices: create with QBO's validations, sparse/full update, void, delete, send.

Amounts: a sales line with Qty and UnitPrice must carry Amount = round(Qty * UnitPrice, 2)
(else 6070). TotalAmt = lines + tax (non-US companies: each line needs a TaxCodeRef and tax
is computed per code); Balance = TotalAmt - payments applied.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.company import Company, currency_ref
from sandbox.quickbooks.entities import existing, merged, ref_value, require_object
from sandbox.quickbooks.formats import money, parse_date, qbo_date, qbo_time, to_decimal

DOC_NUMBER_MAX = 21
PRIVATE_NOTE_MAX = 4000
# The message to the customer printed on the invoice (MemoRef: {"value": …}).
CUSTOMER_MEMO_MAX = 1000
US_TAX_CODES = ("TAX", "NON")
WRITABLE = frozenset(
    {
        "CustomerRef",
        "Line",
        "DocNumber",
        "TxnDate",
        "DueDate",
        "PrivateNote",
        "CustomerMemo",
        "BillEmail",
        "BillAddr",
        "ShipAddr",
        "SalesTermRef",
        "CurrencyRef",
        "ExchangeRate",
        "EmailStatus",
        "PrintStatus",
        "GlobalTaxCalculation",
        "AllowOnlineCreditCardPayment",
        "AllowOnlineACHPayment",
    }
)


def _customer(company: Company, invoice: dict[str, Any]) -> dict[str, Any]:
    customer_id = ref_value(invoice, "CustomerRef")
    if customer_id is None:
        raise errors.required_param("CustomerRef")
    customer = company.get("Customer", customer_id)
    if customer is None:
        raise errors.invalid_reference("CustomerRef", customer_id)
    if not customer["Active"]:
        raise errors.made_inactive("CustomerRef")
    return customer


def _tax_code(company: Company, detail: dict[str, Any], index: int) -> str | None:
    code = ref_value(detail, "TaxCodeRef")
    if company.us:
        if code is None:
            return "NON"
        if code not in US_TAX_CODES:
            raise errors.invalid_reference("Line.SalesItemLineDetail.TaxCodeRef", code)
        return code
    if code is None:
        raise errors.business_validation(
            "Make sure all your transactions have a VAT rate before you save.",
            f"Line[{index}].SalesItemLineDetail.TaxCodeRef",
        )
    if company.get("TaxCode", code) is None:
        raise errors.invalid_reference("Line.SalesItemLineDetail.TaxCodeRef", code)
    return code


def _sales_line(
    company: Company, line: dict[str, Any], index: int
) -> tuple[dict[str, Any], str | None]:
    amount = to_decimal(line.get("Amount"))
    if amount is None:
        raise errors.required_param("Line.Amount")
    raw = line.get("SalesItemLineDetail")
    detail: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    item_id = ref_value(detail, "ItemRef")
    item = company.get("Item", item_id) if item_id is not None else None
    if item is None or not item["Active"]:
        raise errors.invalid_reference("Line.SalesItemLineDetail.ItemRef", item_id)
    qty = to_decimal(detail.get("Qty")) if "Qty" in detail else None
    price = to_decimal(detail.get("UnitPrice")) if "UnitPrice" in detail else None
    if qty is not None and price is not None:
        if money(qty * price) != amount:
            raise errors.validation(
                "6070",
                "Amount calculation incorrect in the request",
                f"Amount is not equal to Qty * UnitPrice. Supplied value:{amount} Line[{index}]",
                "Line.Amount",
            )
    elif qty is not None and qty != 0:
        price = amount / qty
    elif price is not None and price != 0:
        qty = amount / price
    tax = _tax_code(company, detail, index)
    detail["ItemRef"] = {"value": item["Id"], "name": item["Name"]}
    if qty is not None:
        detail["Qty"] = qty
    if price is not None:
        detail["UnitPrice"] = price
    if tax is not None:
        detail["TaxCodeRef"] = {"value": tax}
    out: dict[str, Any] = {
        "Id": str(index + 1),
        "LineNum": index + 1,
        "Amount": money(amount),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": detail,
    }
    if isinstance(line.get("Description"), str):
        out["Description"] = line["Description"]
    return out, tax


def _lines(company: Company, raw: object) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:
    if not isinstance(raw, list):
        raise errors.required_param("Line")
    lines: list[dict[str, Any]] = []
    taxable: dict[str, Decimal] = {}
    for line in raw:
        if not isinstance(line, dict):
            raise errors.malformed_request("Each Line must be an object")
        kind = line.get("DetailType", "SalesItemLineDetail")
        if kind == "SubTotalLineDetail":
            continue  # computed by QuickBooks
        if kind == "DescriptionOnly":
            lines.append(
                {
                    "Id": str(len(lines) + 1),
                    "LineNum": len(lines) + 1,
                    "Description": str(line.get("Description", "")),
                    "DetailType": "DescriptionOnly",
                    "DescriptionLineDetail": {},
                }
            )
            continue
        if kind != "SalesItemLineDetail":
            raise errors.validation(
                "2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "DetailType"
            )
        out, tax = _sales_line(company, line, len(lines))
        lines.append(out)
        if tax is not None:
            taxable[tax] = taxable.get(tax, Decimal(0)) + out["Amount"]
    if not any(line["DetailType"] == "SalesItemLineDetail" for line in lines):
        raise errors.required_param("Line")
    return lines, taxable


def _tax(company: Company, taxable: dict[str, Decimal]) -> Decimal:
    if company.us:
        return Decimal(0)
    total = Decimal(0)
    for code_id, base in taxable.items():
        rate: Decimal = company.entities["TaxCode"][code_id]["_rate"]
        total += money(base * rate / 100)
    return total


def _doc_number(company: Company, invoice: dict[str, Any], own_id: str | None, allow: bool) -> str:
    doc = invoice.get("DocNumber")
    if not company.preferences.custom_txn_numbers or doc in (None, ""):
        return (
            str(invoice["DocNumber"])
            if own_id and invoice.get("DocNumber")
            else company.next_doc_number()
        )
    doc = str(doc)
    if len(doc) > DOC_NUMBER_MAX:
        raise errors.string_length("DocNumber", DOC_NUMBER_MAX, len(doc))
    if company.preferences.warn_duplicate_doc_num and not allow:
        for other in company.entities["Invoice"].values():
            if other["Id"] != own_id and other.get("DocNumber") == doc:
                raise errors.validation(
                    "6140",
                    "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different number. "
                    f"This number has already been used. DocNumber={doc} is assigned to "
                    f"TxnType=Invoice with TxnId={other['Id']}",
                )
    return doc


def _currency(company: Company, invoice: dict[str, Any], customer: dict[str, Any]) -> str:
    home = company.preferences.home_currency
    code = ref_value(invoice, "CurrencyRef") or home
    if code != home and not company.preferences.multicurrency:
        raise errors.business_validation(
            f"Multicurrency is not enabled: transactions must be in {home}.", "CurrencyRef"
        )
    if code != customer["CurrencyRef"]["value"]:
        raise errors.business_validation(
            "The transaction currency must match the customer's currency "
            f"({customer['CurrencyRef']['value']}).",
            "CurrencyRef",
        )
    return code


def _customer_memo(raw: object) -> str | None:
    if raw is None:
        return None
    value = raw.get("value") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        raise errors.malformed_request("CustomerMemo must be an object with a string value")
    if len(value) > CUSTOMER_MEMO_MAX:
        raise errors.string_length("CustomerMemo", CUSTOMER_MEMO_MAX, len(value))
    return value


def paid_amount(company: Company, invoice: dict[str, Any]) -> Decimal:
    paid = Decimal(0)
    for link in invoice.get("LinkedTxn", []):
        if link["TxnType"] != "Payment":
            continue
        payment = company.get("Payment", link["TxnId"])
        for line in payment["Line"] if payment else []:
            if any(t["TxnId"] == invoice["Id"] for t in line["LinkedTxn"]):
                paid += line["Amount"]
    return paid


def _build(
    company: Company,
    invoice: dict[str, Any],
    *,
    own: dict[str, Any] | None,
    allow_duplicate: bool,
) -> dict[str, Any]:
    customer = _customer(company, invoice)
    lines, taxable = _lines(company, invoice.get("Line"))
    code = _currency(company, invoice, customer)
    doc = _doc_number(company, invoice, own["Id"] if own else None, allow_duplicate)
    note = invoice.get("PrivateNote")
    if isinstance(note, str) and len(note) > PRIVATE_NOTE_MAX:
        raise errors.string_length("PrivateNote", PRIVATE_NOTE_MAX, len(note))
    memo = _customer_memo(invoice.get("CustomerMemo"))
    today = parse_date(qbo_date(company.now()))
    assert today is not None
    txn_date = parse_date(invoice.get("TxnDate")) if invoice.get("TxnDate") else today
    if txn_date is None:
        raise errors.malformed_request(f"Invalid TxnDate: {invoice.get('TxnDate')}")
    due = parse_date(invoice.get("DueDate")) if invoice.get("DueDate") else None
    if invoice.get("DueDate") and due is None:
        raise errors.malformed_request(f"Invalid DueDate: {invoice.get('DueDate')}")
    if due is None:
        due = txn_date + timedelta(days=company.preferences.default_due_days)
    subtotal = sum((line["Amount"] for line in lines if "Amount" in line), Decimal(0))
    tax = _tax(company, taxable)
    total = subtotal + tax
    paid = paid_amount(company, own) if own else Decimal(0)
    if total < paid:
        raise errors.business_validation(
            "The invoice total can't be less than the payments applied to it.", "Line"
        )
    rate = to_decimal(invoice.get("ExchangeRate")) or Decimal(1)
    if code == company.preferences.home_currency:
        rate = Decimal(1)
    email = invoice.get("BillEmail") or customer.get("PrimaryEmailAddr")
    status = invoice.get("EmailStatus", "NotSet")
    if status == "NeedToSend" and not email:
        raise errors.business_validation(
            "Email Address is required when EmailStatus is NeedToSend.", "BillEmail"
        )
    result = {k: v for k, v in invoice.items() if k in WRITABLE and k != "CustomerMemo"}
    if memo is not None:
        result["CustomerMemo"] = {"value": memo}
    result.update(
        {
            "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "Line": [
                *lines,
                {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
            ],
            "DocNumber": doc,
            "TxnDate": txn_date.isoformat(),
            "DueDate": due.isoformat(),
            "CurrencyRef": currency_ref(code),
            "ExchangeRate": rate,
            "TxnTaxDetail": {"TotalTax": tax},
            "TotalAmt": total,
            "HomeTotalAmt": money(total * rate),
            "Balance": total - paid,
            "HomeBalance": money((total - paid) * rate),
            "Deposit": Decimal(0),
            "EmailStatus": status,
            "PrintStatus": invoice.get("PrintStatus", "NotSet"),
            "LinkedTxn": list(own.get("LinkedTxn", [])) if own else [],
            "ApplyTaxAfterDiscount": False,
            "AllowIPNPayment": False,
            "AllowOnlinePayment": False,
        }
    )
    if not company.us:
        result.setdefault("GlobalTaxCalculation", "TaxExcluded")
    if email:
        result["BillEmail"] = email
    if own and "DeliveryInfo" in own:
        result["DeliveryInfo"] = own["DeliveryInfo"]
    return result


def create(company: Company, body: object, *, allow_duplicate: bool = False) -> dict[str, Any]:
    data = require_object(body, "Invoice")
    if data.get("Id"):
        return update(company, data, allow_duplicate=allow_duplicate)
    invoice = _build(company, data, own=None, allow_duplicate=allow_duplicate)
    return company.insert("Invoice", invoice)


def update(company: Company, body: object, *, allow_duplicate: bool = False) -> dict[str, Any]:
    data = require_object(body, "Invoice")
    entity = existing(company, "Invoice", data)
    if entity.get("_voided") and "Line" in data:
        raise errors.business_validation("A voided transaction can't be changed.")
    wanted = merged(entity, data, WRITABLE)
    if "Line" not in data:
        # Amount checks apply to what the client sent; stored lines are already valid.
        wanted["Line"] = [_as_request_line(line) for line in entity["Line"]]
    if data.get("sparse") is True and "DocNumber" not in data:
        wanted["DocNumber"] = entity["DocNumber"]
    built = _build(company, wanted, own=entity, allow_duplicate=allow_duplicate)
    for key in (
        "Id",
        "SyncToken",
        "MetaData",
        "domain",
        "sparse",
        "_created",
        "_updated",
        "_voided",
    ):
        if key in entity:
            built[key] = entity[key]
    entity.clear()
    entity.update(built)
    company.touch("Invoice", entity)
    return entity


def _as_request_line(line: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in line.items() if k not in ("Id", "LineNum")}
    return out


def void(company: Company, body: object) -> dict[str, Any]:
    data = require_object(body, "Invoice")
    entity = existing(company, "Invoice", data)
    unlink_payments(company, entity)
    for line in entity["Line"]:
        if "Amount" in line:
            line["Amount"] = Decimal(0)
        detail = line.get("SalesItemLineDetail")
        if isinstance(detail, dict) and "Qty" in detail:
            detail["Qty"] = Decimal(0)
    note = entity.get("PrivateNote")
    entity["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    for key in ("TotalAmt", "HomeTotalAmt", "Balance", "HomeBalance"):
        entity[key] = Decimal(0)
    entity["TxnTaxDetail"] = {"TotalTax": Decimal(0)}
    entity["LinkedTxn"] = []
    entity["_voided"] = True
    company.touch("Invoice", entity, "Void")
    return entity


def unlink_payments(company: Company, invoice: dict[str, Any]) -> None:
    """Payments applied to the invoice stop being applied (their money becomes unapplied)."""
    for link in invoice.get("LinkedTxn", []):
        payment = company.get("Payment", link["TxnId"]) if link["TxnType"] == "Payment" else None
        if payment is None:
            continue
        kept = [
            line
            for line in payment["Line"]
            if not any(t["TxnId"] == invoice["Id"] for t in line["LinkedTxn"])
        ]
        released = sum((line["Amount"] for line in payment["Line"] if line not in kept), Decimal(0))
        payment["Line"] = kept
        payment["UnappliedAmt"] = payment["UnappliedAmt"] + released
        company.touch("Payment", payment)


def delete(company: Company, body: object) -> dict[str, Any]:
    data = require_object(body, "Invoice")
    entity = existing(company, "Invoice", data)
    if any(link["TxnType"] == "Payment" for link in entity.get("LinkedTxn", [])):
        raise errors.business_validation(
            "This transaction has payments linked to it: remove them before deleting it."
        )
    company.remove("Invoice", entity["Id"])
    return {"domain": "QBO", "status": "Deleted", "Id": entity["Id"]}


def send(company: Company, invoice_id: str, send_to: str | None) -> dict[str, Any]:
    entity = company.get("Invoice", invoice_id)
    if entity is None:
        raise errors.object_not_found("Invoice", invoice_id)
    if send_to:
        if "@" not in send_to:
            raise errors.business_validation(f"Invalid email address: {send_to}", "sendTo")
        entity["BillEmail"] = {"Address": send_to}
    elif not entity.get("BillEmail"):
        raise errors.business_validation(
            "Missing Email Address: the invoice has no BillEmail and no sendTo was given.",
            "BillEmail",
        )
    entity["EmailStatus"] = "EmailSent"
    entity["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": qbo_time(company.now())}
    company.touch("Invoice", entity, "Emailed")
    return entity
