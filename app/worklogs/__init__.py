"""The Jira worklog mirror: webhooks, backfill, reconciliation, and the worklog API."""
