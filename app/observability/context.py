"""What one request or job has learnt about itself while running: its tenant and the
correlation ids of the Jira and QuickBooks calls it made. A mutable record in a contextvar,
so that code deep down (auth, the HTTP clients) can add to it whatever context copies
happen on the way."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class WorkRecord:
    tenant_id: int | None = None
    client_key: str | None = None
    jira_trace_ids: list[str] = field(default_factory=list)
    intuit_tids: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, object]:
        found: dict[str, object] = {}
        if self.tenant_id is not None:
            found["tenant_id"] = self.tenant_id
        if self.client_key is not None:
            found["client_key"] = self.client_key
        if self.jira_trace_ids:
            found["atl_traceid"] = self.jira_trace_ids[-5:]
        if self.intuit_tids:
            found["intuit_tid"] = self.intuit_tids[-5:]
        return found


CURRENT: ContextVar[WorkRecord | None] = ContextVar("w360_work_record", default=None)


def note_tenant(tenant_id: int | None, client_key: str | None = None) -> None:
    record = CURRENT.get()
    if record is not None:
        record.tenant_id = tenant_id
        if client_key is not None:
            record.client_key = client_key
