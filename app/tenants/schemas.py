from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class Person(BaseModel):
    """A Jira account as the pages show it: its id and its name, when Jira has told it."""

    account_id: str
    display_name: str | None


class LifecyclePayload(BaseModel):
    """The JSON body Jira POSTs to every lifecycle callback."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    key: str = Field(min_length=1, max_length=255)
    client_key: str = Field(alias="clientKey", min_length=1, max_length=255)
    base_url: HttpUrl = Field(alias="baseUrl")
    display_url: HttpUrl | None = Field(default=None, alias="displayUrl")
    product_type: str = Field(default="jira", alias="productType", max_length=32)
    description: str | None = Field(default=None, max_length=2000)
    service_entitlement_number: str | None = Field(
        default=None, alias="serviceEntitlementNumber", max_length=64
    )
    oauth_client_id: str | None = Field(default=None, alias="oauthClientId", max_length=255)
    event_type: str | None = Field(default=None, alias="eventType", max_length=32)
    # The Forge installation of this site, when the Connect app was adopted into Forge
    # (ACE keeps it to associate the two doors).
    installation_id: str | None = Field(default=None, alias="installationId", max_length=255)
    shared_secret: str | None = Field(
        default=None, alias="sharedSecret", min_length=1, max_length=512, repr=False
    )
