"""A small, generic Atlassian Connect toolkit: qsh, JWT verify/sign, signed install,
descriptor rendering and a Jira REST client. Imports nothing from the product (`app/`)."""
