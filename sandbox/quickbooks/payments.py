"""Payments: applied to invoices through `Line[].LinkedTxn`, each applied amount lowering
the invoice's Balance and linking the payment on the invoice. Void and delete give the
money back to the invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.company import Company, currency_ref
from sandbox.quickbooks.entities import existing, ref_value, require_object
from sandbox.quickbooks.formats import money, parse_date, qbo_date, to_decimal

# "Reference no." on a payment, e.g. the cheque number.
PAYMENT_REF_NUM_MAX = 21


def _apply_lines(
    company: Company, customer_id: str, raw: object
) -> list[tuple[dict[str, Any], Decimal]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise errors.malformed_request("Line must be a list")
    applied: list[tuple[dict[str, Any], Decimal]] = []
    for index, line in enumerate(raw):
        if not isinstance(line, dict):
            raise errors.malformed_request("Each Line must be an object")
        amount = to_decimal(line.get("Amount"))
        if amount is None:
            raise errors.required_param(f"Line[{index}].Amount")
        links = line.get("LinkedTxn")
        if not isinstance(links, list) or len(links) != 1 or not isinstance(links[0], dict):
            raise errors.required_param(f"Line[{index}].LinkedTxn")
        link = links[0]
        if link.get("TxnType") != "Invoice":
            raise errors.validation(
                "2170",
                "Invalid Enumeration",
                f"Invalid Enumeration : {link.get('TxnType')}",
                "LinkedTxn.TxnType",
            )
        invoice = company.get("Invoice", link.get("TxnId"))
        if invoice is None:
            raise errors.invalid_reference("LinkedTxn.TxnId", link.get("TxnId"))
        if invoice["CustomerRef"]["value"] != customer_id:
            raise errors.business_validation(
                f"Invoice {invoice['Id']} belongs to another customer.", "LinkedTxn"
            )
        amount = money(amount)
        if amount <= 0 or amount > invoice["Balance"]:
            raise errors.business_validation(
                f"The payment amount {amount} can't be applied to invoice {invoice['Id']}: "
                f"its open balance is {invoice['Balance']}.",
                "Line.Amount",
            )
        applied.append((invoice, amount))
    return applied


def create(company: Company, body: object) -> dict[str, Any]:
    data = require_object(body, "Payment")
    customer_id = ref_value(data, "CustomerRef")
    if customer_id is None:
        raise errors.required_param("CustomerRef")
    customer = company.get("Customer", customer_id)
    if customer is None:
        raise errors.invalid_reference("CustomerRef", customer_id)
    if not customer["Active"]:
        raise errors.made_inactive("CustomerRef")
    total = to_decimal(data.get("TotalAmt"))
    if total is None:
        raise errors.required_param("TotalAmt")
    total = money(total)
    code = ref_value(data, "CurrencyRef") or customer["CurrencyRef"]["value"]
    if code != customer["CurrencyRef"]["value"]:
        raise errors.business_validation(
            "The transaction currency must match the customer's currency.", "CurrencyRef"
        )
    applied = _apply_lines(company, customer_id, data.get("Line"))
    applied_total = sum((amount for _, amount in applied), Decimal(0))
    if applied_total > total:
        raise errors.business_validation(
            "The amounts applied to invoices are more than the payment's TotalAmt.", "TotalAmt"
        )
    txn_date = data.get("TxnDate") or qbo_date(company.now())
    if parse_date(txn_date) is None:
        raise errors.malformed_request(f"Invalid TxnDate: {txn_date}")
    payment: dict[str, Any] = {
        "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
        "TxnDate": txn_date,
        "TotalAmt": total,
        "UnappliedAmt": total - applied_total,
        "ProcessPayment": False,
        "CurrencyRef": currency_ref(code),
        "ExchangeRate": to_decimal(data.get("ExchangeRate")) or Decimal(1),
        "DepositToAccountRef": data.get("DepositToAccountRef")
        or {"value": _undeposited_funds(company)},
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            for invoice, amount in applied
        ],
    }
    reference = data.get("PaymentRefNum")
    if isinstance(reference, str) and len(reference) > PAYMENT_REF_NUM_MAX:
        raise errors.string_length("PaymentRefNum", PAYMENT_REF_NUM_MAX, len(reference))
    for key in ("PaymentRefNum", "PrivateNote", "PaymentMethodRef"):
        if key in data:
            payment[key] = data[key]
    company.insert("Payment", payment)
    for invoice, amount in applied:
        invoice["Balance"] = invoice["Balance"] - amount
        invoice["HomeBalance"] = money(invoice["Balance"] * invoice["ExchangeRate"])
        invoice.setdefault("LinkedTxn", []).append({"TxnId": payment["Id"], "TxnType": "Payment"})
        company.touch("Invoice", invoice)
    return payment


def _undeposited_funds(company: Company) -> str:
    for account in company.entities["Account"].values():
        if account["Name"] == "Undeposited Funds":
            return str(account["Id"])
    return ""


def _release(company: Company, payment: dict[str, Any]) -> None:
    for line in payment["Line"]:
        for link in line["LinkedTxn"]:
            invoice = company.get("Invoice", link["TxnId"])
            if invoice is None:
                continue
            invoice["Balance"] = invoice["Balance"] + line["Amount"]
            invoice["HomeBalance"] = money(invoice["Balance"] * invoice["ExchangeRate"])
            invoice["LinkedTxn"] = [
                t for t in invoice.get("LinkedTxn", []) if t["TxnId"] != payment["Id"]
            ]
            company.touch("Invoice", invoice)


def void(company: Company, body: object) -> dict[str, Any]:
    """`POST /payment?operation=update&include=void`: amounts zeroed, invoices reopened."""
    data = require_object(body, "Payment")
    payment = existing(company, "Payment", data)
    _release(company, payment)
    for line in payment["Line"]:
        line["Amount"] = Decimal(0)
    payment["TotalAmt"] = Decimal(0)
    payment["UnappliedAmt"] = Decimal(0)
    note = payment.get("PrivateNote")
    payment["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    company.touch("Payment", payment, "Void")
    return payment


def delete(company: Company, body: object) -> dict[str, Any]:
    data = require_object(body, "Payment")
    payment = existing(company, "Payment", data)
    _release(company, payment)
    company.remove("Payment", payment["Id"])
    return {"domain": "QBO", "status": "Deleted", "Id": payment["Id"]}
