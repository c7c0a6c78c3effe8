"""An emulator of Jira Cloud: sites, worklogs, Connect install/lifecycle, JWT-checked REST v3,
Connect webhooks through an inspectable outbox, Forge's side (JWKS, invocation tokens,
lifecycle deliveries, the api.atlassian.com gateway with bearer tokens, product events
through an inspectable outbox, scheduled triggers; `forge`), fault injection and call
counting.

See `emulator.JiraSandbox` for the Python API and `control` for the `/_sandbox` HTTP API.
"""

from sandbox.jira.clock import SandboxClock
from sandbox.jira.emulator import JiraSandbox
from sandbox.jira.errors import JiraApiError
from sandbox.jira.forge import (
    ForgeApp,
    ForgeDelivery,
    ForgeEvent,
    ForgeInstallation,
    ForgeKeyRing,
    ForgeRequest,
)
from sandbox.jira.lifecycle import InstallFailedError, InstallKeyRing, LifecycleRequest
from sandbox.jira.models import Installation, Issue, Project, User, Worklog
from sandbox.jira.seeding import SeedSummary, seed_site
from sandbox.jira.site import Site
from sandbox.jira.webhooks import DeliveryResult, WebhookDelivery, WebhookOutbox

__all__ = [
    "DeliveryResult",
    "ForgeApp",
    "ForgeDelivery",
    "ForgeEvent",
    "ForgeInstallation",
    "ForgeKeyRing",
    "ForgeRequest",
    "InstallFailedError",
    "InstallKeyRing",
    "Installation",
    "Issue",
    "JiraApiError",
    "JiraSandbox",
    "LifecycleRequest",
    "Project",
    "SandboxClock",
    "SeedSummary",
    "Site",
    "User",
    "WebhookDelivery",
    "WebhookOutbox",
    "Worklog",
    "seed_site",
]
