from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timeutil import utc_now


class BillingSettings(Base):
    """A tenant's billing settings: invoice numbering, rounding, default rate and terms."""

    __tablename__ = "billing_settings"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    invoice_number_prefix: Mapped[str] = mapped_column(String(12), default="INV-")
    next_invoice_number: Mapped[int] = mapped_column(Integer, default=1)
    rounding_minutes: Mapped[int] = mapped_column(Integer, default=0)
    rounding_mode: Mapped[str] = mapped_column(String(16), default="none")
    default_hourly_rate: Mapped[Decimal | None]
    default_due_days: Mapped[int] = mapped_column(Integer, default=30)
    billing_group: Mapped[str | None] = mapped_column(String(255))
    quickbooks_item_id: Mapped[str | None] = mapped_column(String(64))
    quickbooks_tax_code_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class Client(Base):
    """Someone the tenant bills. Keyed (tenant, id) so rows of other tables that name a
    client carry the tenant too, and can never point at another site's client."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased name: two clients of one site may not differ only by case.
    name_key: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    hourly_rate: Mapped[Decimal | None]
    billing_email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        UniqueConstraint("tenant_id", "name_key"),
        UniqueConstraint("tenant_id", "id"),
    )
