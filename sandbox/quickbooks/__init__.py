"""An emulator of Intuit OAuth 2.0 and the QuickBooks Online Accounting API v3: companies,
customers, items, invoices, payments, query, CDC, batch, requestid replays, QBO's faults and
throttles, and signed webhooks (legacy and CloudEvents) through an inspectable outbox.

See `emulator.QuickBooksSandbox` for the Python API and `control` for the `/_sandbox` HTTP API.
"""

from sandbox.quickbooks.authority import ACCOUNTING_SCOPE, Grant, OAuthClient
from sandbox.quickbooks.clock import SandboxClock
from sandbox.quickbooks.company import Company, Preferences
from sandbox.quickbooks.emulator import QuickBooksSandbox
from sandbox.quickbooks.oauth import AUTHORIZE_PATH, REVOKE_PATH, TOKEN_PATH
from sandbox.quickbooks.webhooks import DeliveryResult, WebhookDelivery, WebhookEvent, sign

__all__ = [
    "ACCOUNTING_SCOPE",
    "AUTHORIZE_PATH",
    "REVOKE_PATH",
    "TOKEN_PATH",
    "Company",
    "DeliveryResult",
    "Grant",
    "OAuthClient",
    "Preferences",
    "QuickBooksSandbox",
    "SandboxClock",
    "WebhookDelivery",
    "WebhookEvent",
    "sign",
]
