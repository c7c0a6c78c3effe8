from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.quickbooks.line_settings import Choice, TaxCodes
from app.quickbooks.models import QuickBooksCustomer, QuickBooksCustomerLink
from app.quickbooks.service import ConnectionView, CustomerChoice

ConnectionState = Literal["connected", "expiring", "expired", "disconnected"]


class ConnectLinkOut(BaseModel):
    """`POST /api/quickbooks/connect-link`: open `url` outside Jira, once, before
    `expires_at`."""

    url: str
    expires_at: datetime


class PdfLinkOut(BaseModel):
    """`POST /api/invoices/{id}/pdf-link`: open `url` outside Jira, once, before
    `expires_at`."""

    url: str
    expires_at: datetime


class ConnectionOut(BaseModel):
    connected: bool
    realm_id: str | None
    company_name: str | None
    connected_at: datetime | None
    expires_at: datetime | None
    days_left: int | None
    state: ConnectionState

    @classmethod
    def of(cls, view: ConnectionView) -> ConnectionOut:
        return cls(
            connected=view.connected,
            realm_id=view.realm_id,
            company_name=view.company_name,
            connected_at=view.connected_at,
            expires_at=view.expires_at,
            days_left=view.days_left,
            state=view.state,
        )


class LinkedClient(BaseModel):
    id: int
    name: str


class CustomerOut(BaseModel):
    id: str
    display_name: str
    currency: str | None
    active: bool
    # The client already invoiced as this customer (a customer links to one client only).
    linked_client: LinkedClient | None

    @classmethod
    def of(cls, choice: CustomerChoice) -> CustomerOut:
        customer = choice.customer
        linked = None
        if choice.linked_client_id is not None:
            linked = LinkedClient(id=choice.linked_client_id, name=choice.linked_client_name or "")
        return cls(
            id=customer.id,
            display_name=customer.display_name,
            currency=customer.currency,
            active=customer.active,
            linked_client=linked,
        )


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None


class CustomerLinkIn(BaseModel):
    customer_id: str = Field(min_length=1, max_length=32)


class CustomerLinkOut(BaseModel):
    client_id: int
    customer_id: str
    display_name: str
    currency: str | None
    active: bool
    linked_at: datetime

    @classmethod
    def of(cls, link: QuickBooksCustomerLink, customer: QuickBooksCustomer) -> CustomerLinkOut:
        return cls(
            client_id=link.client_id,
            customer_id=link.customer_id,
            display_name=customer.display_name,
            currency=customer.currency,
            active=customer.active,
            linked_at=link.linked_at,
        )


class ChoiceOut(BaseModel):
    id: str
    name: str
    description: str | None

    @classmethod
    def of(cls, choice: Choice) -> ChoiceOut:
        return cls(id=choice.id, name=choice.name, description=choice.description)


class ItemList(BaseModel):
    items: list[ChoiceOut]


class TaxCodeList(BaseModel):
    items: list[ChoiceOut]
    # Outside the US QuickBooks refuses invoice lines without a tax code.
    required: bool

    @classmethod
    def of(cls, codes: TaxCodes) -> TaxCodeList:
        return cls(items=[ChoiceOut.of(c) for c in codes.codes], required=codes.required)
