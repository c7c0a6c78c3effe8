"""422s people can act on: each names the field in everyday words and says what to do, and
the error carries the request fields at fault so a page marks exactly those inputs. No
pydantic mechanism text ("should match pattern", "Decimal input should …") reaches a person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.world import World, jira_world

MECHANISM = ("should match pattern", "Decimal input", "should be", "Input should", "Value error")


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with jira_world(database_url, tmp_path) as world:
        await world.install()
        yield world


async def refused(world: World, method: str, path: str, body: Any) -> dict[str, Any]:
    response = await world.api(method, path, json=body)
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert not any(text in error["message"] for text in MECHANISM), error["message"]
    return error


@pytest.mark.parametrize(
    ("patch", "message", "fields"),
    [
        (
            {"invoice_number_prefix": "has space"},
            "Invoice number prefix: use only letters, digits and - _ / . # (no spaces).",
            ["invoice_number_prefix"],
        ),
        (
            {"default_hourly_rate": "12.345"},
            "Default hourly rate: use at most 2 decimal places (e.g. 1.25).",
            ["default_hourly_rate"],
        ),
        (
            {"default_hourly_rate": "-1"},
            "Default hourly rate: enter 0 or more.",
            ["default_hourly_rate"],
        ),
        ({"default_due_days": 9999}, "Days until due: enter at most 365.", ["default_due_days"]),
        (
            {"rounding_minutes": "soon"},
            "Rounding minutes: enter a whole number.",
            ["rounding_minutes"],
        ),
        ({}, "Nothing to change: change at least one setting.", []),
        ({"colour": "blue"}, "Colour: remove it: this form has no such field.", ["colour"]),
    ],
)
async def test_settings_refusals_say_what_to_do_in_the_fields_words(
    world: World, patch: dict[str, Any], message: str, fields: list[str]
) -> None:
    error = await refused(world, "PATCH", "/api/settings", patch)
    assert error["message"] == message
    assert error["fields"] == fields


async def test_a_client_with_several_bad_fields_names_each_once(world: World) -> None:
    error = await refused(
        world,
        "POST",
        "/api/clients",
        {"name": "  ", "currency": "ABC", "hourly_rate": "1e12", "billing_email": "nope"},
    )
    assert error["fields"] == ["name", "currency", "hourly_rate", "billing_email"]
    assert error["message"] == (
        "Name: fill it in. Currency: ABC is not a currency code: use ISO 4217, like EUR or USD. "
        "Hourly rate: enter at most 100000. "
        "Billing email: enter an email address, like billing@example.com."
    )


async def test_rows_of_a_list_are_named_by_their_number_and_their_path(world: World) -> None:
    error = await refused(
        world,
        "PUT",
        "/api/settings/rate-changes",
        [
            {"effective_from": "2026-11-01", "hourly_rate": "100"},
            {"effective_from": "someday", "hourly_rate": "1.001"},
        ],
    )
    assert error["fields"] == ["1.effective_from", "1.hourly_rate"]
    assert error["message"] == (
        "Effective from in row 2: enter a date as YYYY-MM-DD. "
        "Hourly rate in row 2: use at most 2 decimal places (e.g. 1.25)."
    )


async def test_a_query_parameter_is_named_too(world: World) -> None:
    response = await world.api("GET", "/api/worklogs", params={"limit": "0"})
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_request",
        "message": "Limit: enter 1 or more.",
        "fields": ["limit"],
    }
