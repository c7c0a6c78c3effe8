"""The iframe pages Jira shows, rendered with Jinja2 from `templates/`."""
