"""One QuickBooks company (a realm): its preferences, its entities as QBO JSON (money as
`Decimal`), tombstones of deleted ones for CDC, the requestid replay cache, and the per-realm
fault plan and limits. Entity rules live in `customers`, `items`, `invoices`, `payments`."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.quickbooks.clock import SandboxClock
from sandbox.quickbooks.faults import FaultPlan
from sandbox.quickbooks.formats import qbo_time
from sandbox.quickbooks.limits import Limits

ENTITY_TYPES = ("Account", "TaxCode", "Customer", "Item", "Invoice", "Payment")
CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
    "CHF": "Swiss Franc",
    "JPY": "Japanese Yen",
    "NZD": "New Zealand Dollar",
    "INR": "Indian Rupee",
}
# VAT codes a non-US company starts with (Id, name, rate %).
NON_US_TAX_CODES = (("2", "20.0% S", Decimal(20)), ("3", "0.0% Z", Decimal(0)))

ChangeListener = Callable[["Company", str, str, str, datetime], None]


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


@dataclass(slots=True)
class Preferences:
    home_currency: str = "USD"
    multicurrency: bool = False
    custom_txn_numbers: bool = True
    warn_duplicate_doc_num: bool = True
    default_due_days: int = 30


@dataclass(slots=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


class Company:
    def __init__(
        self,
        realm_id: str,
        name: str,
        *,
        clock: SandboxClock,
        country: str = "US",
        preferences: Preferences | None = None,
        on_change: ChangeListener | None = None,
    ) -> None:
        self.realm_id = realm_id
        self.name = name
        self.country = country
        self.preferences = preferences or Preferences()
        self.clock = clock
        self.created_at = clock.now()
        self.entities: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in ENTITY_TYPES}
        self.tombstones: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in ENTITY_TYPES}
        self.replays: dict[str, StoredResponse] = {}
        self.faults = FaultPlan()
        self.query_lag_seconds = 0.0
        self.limits = Limits(clock)
        self.on_change = on_change
        self._ids = itertools.count(1)
        self._doc_numbers = itertools.count(1001)
        self._seed()

    @property
    def us(self) -> bool:
        return self.country == "US"

    def _seed(self) -> None:
        for name, kind in (
            ("Services", "Income"),
            ("Sales of Product Income", "Income"),
            ("Accounts Receivable (A/R)", "Accounts Receivable"),
            ("Undeposited Funds", "Other Current Asset"),
        ):
            self.insert(
                "Account",
                {
                    "Name": name,
                    "FullyQualifiedName": name,
                    "AccountType": kind,
                    "Active": True,
                    "CurrencyRef": currency_ref(self.preferences.home_currency),
                },
                notify=False,
            )
        if not self.us:
            for code_id, name, rate in NON_US_TAX_CODES:
                self.add_tax_code(name, rate, code_id=code_id)

    def add_tax_code(
        self, name: str, rate: Decimal, *, code_id: str | None = None, active: bool = True
    ) -> dict[str, Any]:
        """A sales tax (VAT/GST) code as QBO lists it. The API cannot create TaxCodes (it
        takes Intuit's TaxService), so this is the QuickBooks user's doing. Its rate is
        kept privately: QBO puts it on TaxRate entities, which this emulator leaves out."""
        code_id = code_id or self.new_id()
        now = self.now()
        entity: dict[str, Any] = {
            "Id": code_id,
            "Name": name,
            "Description": name,
            "Active": active,
            "Hidden": False,
            "Taxable": rate > 0,
            "TaxGroup": False,
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "MetaData": {"CreateTime": qbo_time(now), "LastUpdatedTime": qbo_time(now)},
            "_rate": rate,
            "_updated": now,
        }
        self.entities["TaxCode"][code_id] = entity
        return entity

    # --- storage -----------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self) -> str:
        while True:
            candidate = str(next(self._ids))
            if candidate not in self.entities["TaxCode"]:
                return candidate

    def next_doc_number(self) -> str:
        taken = {e.get("DocNumber") for e in self.entities["Invoice"].values()}
        while True:
            candidate = str(next(self._doc_numbers))
            if candidate not in taken:
                return candidate

    def get(self, entity_type: str, entity_id: object) -> dict[str, Any] | None:
        return self.entities[entity_type].get(str(entity_id))

    def insert(
        self, entity_type: str, entity: dict[str, Any], *, notify: bool = True
    ) -> dict[str, Any]:
        now = self.now()
        entity["Id"] = self.new_id()
        entity["SyncToken"] = "0"
        entity.setdefault("domain", "QBO")
        entity.setdefault("sparse", False)
        entity["MetaData"] = {"CreateTime": qbo_time(now), "LastUpdatedTime": qbo_time(now)}
        entity["_created"] = now
        entity["_updated"] = now
        self.entities[entity_type][entity["Id"]] = entity
        if notify:
            self.changed(entity_type, entity["Id"], "Create", now)
        return entity

    def visible_to_queries(self, entity: dict[str, Any]) -> bool:
        """Intuit's query reads an index that trails its writes: with `query_lag_seconds`
        set, an entity created less than that long ago is not found by a query yet (a read
        by id sees it at once)."""
        if self.query_lag_seconds <= 0:
            return True
        created = entity.get("_created")
        return created is None or (self.now() - created).total_seconds() >= self.query_lag_seconds

    def touch(self, entity_type: str, entity: dict[str, Any], operation: str = "Update") -> None:
        """A saved change: SyncToken + 1, LastUpdatedTime now, a change event."""
        now = self.now()
        entity["SyncToken"] = str(int(entity["SyncToken"]) + 1)
        entity["MetaData"]["LastUpdatedTime"] = qbo_time(now)
        entity["_updated"] = now
        self.changed(entity_type, entity["Id"], operation, now)

    def remove(self, entity_type: str, entity_id: str) -> dict[str, Any]:
        entity = self.entities[entity_type].pop(entity_id)
        now = self.now()
        self.tombstones[entity_type][entity_id] = {
            "domain": "QBO",
            "status": "Deleted",
            "Id": entity_id,
            "MetaData": {
                "CreateTime": entity["MetaData"]["CreateTime"],
                "LastUpdatedTime": qbo_time(now),
            },
            "_updated": now,
        }
        self.changed(entity_type, entity_id, "Delete", now)
        return entity

    def changed(self, entity_type: str, entity_id: str, operation: str, at: datetime) -> None:
        if self.on_change is not None:
            self.on_change(self, entity_type, entity_id, operation, at)
