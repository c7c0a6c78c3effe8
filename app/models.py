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
from app.privacy.models import PersonalDataAccount, PersonalDataErasing
from app.quickbooks.models import (
    QuickBooksCallCounter,
    QuickBooksCallSlot,
    QuickBooksConnection,
    QuickBooksCustomer,
    QuickBooksCustomerLink,
    QuickBooksInvoicePayment,
    QuickBooksInvoiceSync,
    QuickBooksOAuthState,
    QuickBooksRealmState,
)
from app.tenants.models import ForgeInstallation, Tenant
from app.worklogs.models import JiraIssue, Worklog, WorklogRefresh, WorklogSync

__all__ = [
    "Base",
    "BillingSettings",
    "Budget",
    "BudgetMemberRate",
    "BudgetProject",
    "Client",
    "ForgeInstallation",
    "Invoice",
    "InvoiceLine",
    "InvoiceWorklog",
    "JiraIssue",
    "PersonalDataAccount",
    "PersonalDataErasing",
    "QuickBooksCallCounter",
    "QuickBooksCallSlot",
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
    "WorklogRefresh",
    "WorklogSync",
]
