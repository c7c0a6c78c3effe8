"""Worklog360: Jira worklogs to QuickBooks Online invoices."""
