"""Installations of the app: one tenant per Jira site (Connect clientKey)."""
