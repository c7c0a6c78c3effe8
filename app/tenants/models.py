from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timeutil import utc_now


class Tenant(Base):
    """One Jira site that installed the app, keyed by its Connect clientKey.

    Installed and enabled are kept apart, each with the `iat` of the lifecycle event that last
    set it: Jira may deliver `disabled` and `uninstalled` milliseconds apart, in any order, or
    twice, and an older event must never undo a newer one.
    """

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_key: Mapped[str] = mapped_column(String(255), unique=True)
    shared_secret_encrypted: Mapped[str] = mapped_column(Text)
    base_url: Mapped[str] = mapped_column(String(255))
    display_url: Mapped[str | None] = mapped_column(String(255))
    product_type: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    oauth_client_id: Mapped[str | None] = mapped_column(String(255))
    service_entitlement_number: Mapped[str | None] = mapped_column(String(64))
    installed: Mapped[bool] = mapped_column(Boolean)
    enabled: Mapped[bool] = mapped_column(Boolean)
    install_event_iat: Mapped[int] = mapped_column(BigInteger)
    enable_event_iat: Mapped[int] = mapped_column(BigInteger)
    installed_at: Mapped[datetime]
    uninstalled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    @property
    def active(self) -> bool:
        return self.installed and self.enabled
