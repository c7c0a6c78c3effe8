"""Clients, budgets, rates, invoices and their numbering: turning worklogs into money.

Knows no accounting provider: QuickBooks plugs in behind `app.billing.accounting`."""
