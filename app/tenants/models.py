from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timeutil import utc_now


class Tenant(Base):
    """One Jira site, reached through the Connect door (keyed by its clientKey), the Forge
    door (keyed by its cloudId), or both: a site with both apps is one tenant, with one set
    of clients, budgets, invoices and one QuickBooks connection.

    The Connect columns (`client_key`, `shared_secret_encrypted`, `installed`, `enabled`,
    their event `iat`s, `installed_at`) stay empty or false for a site that only has the
    Forge app; the Forge installations are `ForgeInstallation` rows.

    Installed and enabled are kept apart, each with the `iat` of the lifecycle event that last
    set it: Jira may deliver `disabled` and `uninstalled` milliseconds apart, in any order, or
    twice, and an older event must never undo a newer one.
    """

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    shared_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    # The site's URL (Connect `baseUrl`, Forge `context.siteUrl`); unknown for a site whose
    # Forge app has not yet been opened by anyone.
    base_url: Mapped[str | None] = mapped_column(String(255))
    display_url: Mapped[str | None] = mapped_column(String(255))
    product_type: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    oauth_client_id: Mapped[str | None] = mapped_column(String(255))
    service_entitlement_number: Mapped[str | None] = mapped_column(String(64))
    installed: Mapped[bool] = mapped_column(Boolean)
    enabled: Mapped[bool] = mapped_column(Boolean)
    install_event_iat: Mapped[int] = mapped_column(BigInteger)
    enable_event_iat: Mapped[int] = mapped_column(BigInteger)
    installed_at: Mapped[datetime | None]
    uninstalled_at: Mapped[datetime | None]
    # Atlassian's id of the site: what a Forge installation is keyed by.
    cloud_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The Forge installationId Jira named in the Connect `installed` payload (a Connect app
    # adopted into Forge), so that the Forge installation finds this tenant when it comes.
    linked_forge_installation_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    @property
    def connect_active(self) -> bool:
        """Installed and enabled through the Connect door (`installed` and `enabled` are the
        Connect app's). Whether the site has the app at all, through either door, is
        `app.tenants.repository.installed` (a Forge installation is its own row)."""
        return self.installed and self.enabled


class ForgeInstallation(Base):
    """One installation of the Forge app on a site, by Forge's `installationId`.

    A reinstall brings a new installationId; each one is kept, so that once uninstalled (or
    replaced by a newer one) an id never counts again, however late its events arrive. The
    site is known by `cloud_id` from the first event; `tenant_id` stays empty until the site
    is known well enough to find its tenant (a lifecycle event does not say the site's URL,
    which is what matches it to a Connect installation of the same site).

    The app system token of `x-forge-oauth-system` is a SecretBox ciphertext bound to the
    installation, with the expiry its JWT `exp` gives.
    """

    __tablename__ = "forge_installations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    installation_id: Mapped[str] = mapped_column(String(255), unique=True)
    cloud_id: Mapped[str] = mapped_column(String(64), index=True)
    app_version: Mapped[str | None] = mapped_column(String(64))
    environment_type: Mapped[str | None] = mapped_column(String(32))
    environment_id: Mapped[str | None] = mapped_column(String(255))
    api_base_url: Mapped[str] = mapped_column(String(512))
    site_url: Mapped[str | None] = mapped_column(String(255))
    installed: Mapped[bool] = mapped_column(Boolean)
    # The `iat` of the newest FIT that installed it: of two installations of one site and
    # environment, the later one wins.
    install_event_iat: Mapped[int] = mapped_column(BigInteger)
    installed_at: Mapped[datetime]
    uninstalled_at: Mapped[datetime | None]
    system_token_encrypted: Mapped[str | None] = mapped_column(Text)
    system_token_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
