"""The invoice PDF QuickBooks renders (`GET /invoice/{id}/pdf`): a real PDF 1.4 file whose
text is the invoice as it stands in the company (number, dates, bill-to, lines, total,
balance, the customer message), so a test can read back what the customer would see.

Written by hand, not with a PDF library: the emulator needs no dependency the app does not,
and the format for a few lines of Helvetica text is small (objects, a content stream, the
cross-reference table with each object's byte offset).
"""

from __future__ import annotations

from typing import Any

_LINES_PER_PAGE = 48
_TOP = 800
_LEADING = 15


def _escape(text: str) -> bytes:
    """A PDF literal string in WinAnsi (Latin-1 here; other characters become `?`)."""
    raw = text.encode("latin-1", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def invoice_text(company_name: str, customer_name: str, invoice: dict[str, Any]) -> list[str]:
    """The invoice's printed lines, in order."""
    currency = (invoice.get("CurrencyRef") or {}).get("value", "")
    lines = [
        company_name,
        f"INVOICE {invoice.get('DocNumber') or invoice.get('Id')}",
        f"Date {invoice.get('TxnDate', '')}   Due {invoice.get('DueDate', '')}",
        f"Bill to {customer_name}",
        "",
    ]
    for line in invoice.get("Line", []):
        if line.get("DetailType") != "SalesItemLineDetail":
            continue
        detail = line.get("SalesItemLineDetail") or {}
        lines.append(
            f"{line.get('Description', '')}   {detail.get('Qty', '')} x "
            f"{detail.get('UnitPrice', '')} = {line.get('Amount', '')}"
        )
    lines += [
        "",
        f"Total {currency} {invoice.get('TotalAmt', '')}",
        f"Balance due {currency} {invoice.get('Balance', '')}",
    ]
    memo = (invoice.get("CustomerMemo") or {}).get("value")
    if memo:
        lines += ["", *str(memo).splitlines()]
    return lines


def render(text_lines: list[str]) -> bytes:
    pages = [
        text_lines[i : i + _LINES_PER_PAGE] for i in range(0, len(text_lines), _LINES_PER_PAGE)
    ] or [[]]
    # Objects: 1 catalog, 2 pages, 3 font, then a page and its content per page.
    page_ids = [4 + 2 * n for n in range(len(pages))]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % pid for pid in page_ids)
        + b"] /Count %d >>" % len(pages),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for page_id, page in zip(page_ids, pages, strict=True):
        stream = b"BT /F1 11 Tf %d TL 50 %d Td\n" % (_LEADING, _TOP)
        stream += b"".join(b"(" + _escape(line) + b") Tj T*\n" for line in page) + b"ET"
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_id + 1)
        )
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref = len(out)
    count = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % count
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, count))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref)
    return bytes(out)
