from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class PersonalDataAccount(Base):
    """An Atlassian account a site's data names (a worklog's author, who finalized an
    invoice, a rate-card person…), as reported to Atlassian's personal data reporting API.

    `retrieved_at` is when its personal data (the display name) was last read from Jira:
    the report's `updatedAt`. `reported_at` is the last report (once a cycle at most);
    `closed_at` is when Jira said the account was closed and its name was erased: it is
    never reported again.
    """

    __tablename__ = "personal_data_accounts"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    retrieved_at: Mapped[datetime]
    reported_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class PersonalDataErasing(Base):
    """Present only inside the transaction erasing a closed account's name: the lock
    triggers then let a finalized invoice's line descriptions and author names change, and
    nothing else (migration 0019). Never committed."""

    __tablename__ = "personal_data_erasing"

    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
