"""Every model, imported in one place so Alembic and the tests see the whole schema."""

from app.billing.models import (
    BillingSettings,
    Budget,
    BudgetMemberRate,
    BudgetProject,
    Client,
    Invoice,
    InvoiceLine,
    InvoiceWorklog,
    WorklogAssignment,
    WorklogRateOverride,
)
from app.db import Base
from app.quickbooks.models import (
    QuickBooksConnection,
    QuickBooksCustomer,
    QuickBooksCustomerLink,
    QuickBooksInvoicePayment,
    QuickBooksInvoiceSync,
    QuickBooksOAuthState,
    QuickBooksRealmState,
)
from app.tenants.models import Tenant
from app.worklogs.models import JiraIssue, Worklog, WorklogSync

__all__ = [
    "Base",
    "BillingSettings",
    "Budget",
    "BudgetMemberRate",
    "BudgetProject",
    "Client",
    "Invoice",
    "InvoiceLine",
    "InvoiceWorklog",
    "JiraIssue",
    "QuickBooksConnection",
    "QuickBooksCustomer",
    "QuickBooksCustomerLink",
    "QuickBooksInvoicePayment",
    "QuickBooksInvoiceSync",
    "QuickBooksOAuthState",
    "QuickBooksRealmState",
    "Tenant",
    "Worklog",
    "WorklogAssignment",
    "WorklogRateOverride",
    "WorklogSync",
]
