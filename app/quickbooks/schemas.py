from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.quickbooks.models import QuickBooksCustomer, QuickBooksCustomerLink
from app.quickbooks.service import ConnectionView

ConnectionState = Literal["connected", "expiring", "expired", "disconnected"]


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


class CustomerOut(BaseModel):
    id: str
    display_name: str
    currency: str | None
    active: bool

    @classmethod
    def of(cls, customer: QuickBooksCustomer) -> CustomerOut:
        return cls(
            id=customer.id,
            display_name=customer.display_name,
            currency=customer.currency,
            active=customer.active,
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
