from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timeutil import utc_now


class QuickBooksConnection(Base):
    """A tenant's QuickBooks company (realm) and the OAuth tokens that reach it.

    One row per tenant, kept after a disconnect (tokens forgotten) so the page can say what was
    connected. Tokens are SecretBox ciphertexts bound to the tenant and the token kind. A realm
    belongs to one tenant at a time: webhooks and change-data-capture are routed by realm, and
    two Jira sites numbering invoices into one company would collide on DocNumber.
    """

    __tablename__ = "quickbooks_connections"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    # `connected`, `expired` (Intuit refused the refresh token: reconnect) or `disconnected`.
    status: Mapped[str] = mapped_column(String(16))
    realm_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    company_name: Mapped[str | None] = mapped_column(String(255))
    environment: Mapped[str] = mapped_column(String(16))
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None]
    # Soft expiry: rolling 100 days from the last refresh (`x_refresh_token_expires_in`).
    refresh_token_expires_at: Mapped[datetime | None]
    # Intuit's five-year cap, when its token endpoint tells it.
    refresh_token_hard_expires_at: Mapped[datetime | None]
    # Bumped on every token change: a worker holding the row lock sees whether another one
    # refreshed while it waited.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    connected_by: Mapped[str | None] = mapped_column(String(128))
    connected_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]
    customers_refreshed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_intuit_tid: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class QuickBooksOAuthState(Base):
    """A used OAuth `state`, by its nonce: a state is accepted once, in every process.

    The callback records the outcome so that the same redirect arriving again (a reload, a
    double request from the browser) shows the same page without exchanging the code twice,
    which Intuit would treat as fraud and answer by revoking the tokens.
    """

    __tablename__ = "quickbooks_oauth_states"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(128))
    # sha256 of the authorization code, to tell a repeated callback from a replayed state.
    code_digest: Mapped[str] = mapped_column(String(64))
    realm_id: Mapped[str | None] = mapped_column(String(32))
    # Null while the exchange runs; then `connected` or an error code.
    outcome: Mapped[str | None] = mapped_column(String(64))
    used_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (Index("ix_quickbooks_oauth_states_used_at", "used_at"),)


class QuickBooksConnectLink(Base):
    """A used link opened outside Jira, by its nonce: "Connect to QuickBooks" (the Forge
    door's way to Intuit) and an invoice's PDF. Each works once, in every process; the
    token's audience says which kind it was (the table kept its first name)."""

    __tablename__ = "quickbooks_connect_links"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(128))
    used_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (Index("ix_quickbooks_connect_links_used_at", "used_at"),)


class QuickBooksCustomer(Base):
    """The tenant's QuickBooks customers, as last read (active and inactive)."""

    __tablename__ = "quickbooks_customers"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(500))
    # casefold()ed display name: the search is case-insensitive on every backend.
    search_key: Mapped[str] = mapped_column(String(500))
    currency: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean)
    refreshed_at: Mapped[datetime] = mapped_column(default=utc_now)


class QuickBooksCustomerLink(Base):
    """Which QuickBooks customer a client is invoiced as: one to one, within a tenant."""

    __tablename__ = "quickbooks_customer_links"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(32))
    # The customer's name when linked (refreshed with the customer list), so the client
    # still reads well if the cache is empty.
    display_name: Mapped[str] = mapped_column(String(500))
    linked_by: Mapped[str | None] = mapped_column(String(128))
    linked_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "client_id"],
            ["clients.tenant_id", "clients.id"],
            name="fk_quickbooks_customer_links_client",
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "customer_id"),
    )


class QuickBooksInvoiceSync(Base):
    """One invoice's life in QuickBooks: the claim that makes its creation happen once, then
    the QBO invoice it became and the status last read from it.

    A row is written (state `syncing`, committed) before QuickBooks is called, so a second
    click, request or worker sees the claim. `outcome_unknown` says a create may have reached
    QuickBooks without its answer reaching us (a crash, a timeout): the next attempt looks the
    DocNumber up before creating anything. `attempt` names the `requestid`; it moves on only
    after QuickBooks refused a create for certain, so a replay never repeats a refusal.
    """

    __tablename__ = "quickbooks_invoice_syncs"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    invoice_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # `syncing` (claimed), `synced`, or `failed` (the last attempt did not finish).
    state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    outcome_unknown: Mapped[bool] = mapped_column(Boolean, default=False)
    claim: Mapped[str | None] = mapped_column(String(36))
    claimed_at: Mapped[datetime | None]
    # The process holding the claim (host:pid), for an operator reading the table, and
    # when its claim lapses unless that process beats again (it does while it syncs).
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claim_expires_at: Mapped[datetime | None]
    realm_id: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(32))
    qbo_id: Mapped[str | None] = mapped_column(String(32))
    doc_number: Mapped[str | None] = mapped_column(String(32))
    sync_token: Mapped[str | None] = mapped_column(String(16))
    # Ours when synced (a finalized invoice never changes), to flag an edit in QuickBooks.
    invoice_total: Mapped[Decimal | None]
    total: Mapped[Decimal | None]
    balance: Mapped[Decimal | None]
    due_date: Mapped[date | None]
    sent: Mapped[bool] = mapped_column(Boolean, default=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # QBO's MetaData.LastUpdatedTime of what we hold: an older snapshot arriving late
    # (webhooks and CDC repeat and reorder) never overwrites a newer one.
    qbo_updated_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name="fk_quickbooks_invoice_syncs_invoice",
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "realm_id", "qbo_id"),
    )


class QuickBooksInvoicePayment(Base):
    """A QuickBooks payment applied to a synced invoice (Payment.Line.LinkedTxn), as last
    read: the amount applied to this invoice, the payment's date, and how it was paid as
    QuickBooks says it (its reference number, its method's name), when it does."""

    __tablename__ = "quickbooks_invoice_payments"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    payment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    paid_on: Mapped[date | None]
    amount: Mapped[Decimal]
    reference: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["quickbooks_invoice_syncs.tenant_id", "quickbooks_invoice_syncs.invoice_id"],
            name="fk_quickbooks_invoice_payments_sync",
            ondelete="CASCADE",
        ),
        Index("ix_quickbooks_invoice_payments_payment", "tenant_id", "payment_id"),
    )


class QuickBooksRealmState(Base):
    """What the app remembers of a tenant's company between runs: the change-data-capture
    cursor, and facts read once (country, the default service item)."""

    __tablename__ = "quickbooks_realm_states"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    realm_id: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(8))
    item_id: Mapped[str | None] = mapped_column(String(32))
    # The next change-data-capture run asks for changes since this moment.
    changes_since: Mapped[datetime | None]
    changes_checked_at: Mapped[datetime | None]
    last_calls: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class QuickBooksMeteredCalls(Base):
    """Calls Intuit meters (CorePlus: reads and queries of the Accounting API that answered
    2xx), by company and calendar month (UTC): what the app used of the month's allowance
    (500,000 on the free Builder tier). Operational, not a tenant's data: a company is
    counted whichever site connected it."""

    __tablename__ = "quickbooks_metered_calls"

    realm_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    calls: Mapped[int] = mapped_column(Integer, default=0)


class QuickBooksCallCounter(Base):
    """Calls every process of this app has started for a company (realm): the one row the
    processes lock, in turn, to book a call's moment in `quickbooks_call_slots`."""

    __tablename__ = "quickbooks_call_counters"

    realm_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)


class QuickBooksCallSlot(Base):
    """The moments (Unix seconds) of a company's last N calls, N being the per-minute
    budget: call k takes slot k mod N, and starts no sooner than a minute after the call
    that had it, so no minute holds more than N calls whichever processes make them."""

    __tablename__ = "quickbooks_call_slots"

    realm_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # The company's call that holds the slot now (its answer moves `started_at` on, unless
    # a later call took the slot meanwhile).
    call_number: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[float] = mapped_column(Float)
    answered_at: Mapped[float | None] = mapped_column(Float)
