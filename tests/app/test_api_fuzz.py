"""The API fuzzed from its own OpenAPI document with schemathesis (issue 15, item 4).

A real `worklog360 serve` process, installed on a site of the Jira emulator (served over
HTTP), with a client, a budget, worklogs and a draft invoice so that small ids name real
rows. Every `/api` operation gets generated requests, both ones that fit the schema and ones
that do not, each with a fresh, valid token of a Jira administrator, through each door: a
Connect context JWT, and Forge's `invokeRemote` headers (a FIT and the app's system token)
once the site has the Forge app too. Every answer
must be: no 5xx; a status the document declares; the declared content type; a body that
matches the declared schema (so every error is in the one documented shape). Failures are
collected per operation and reported together.

Examples per operation: W360_FUZZ_EXAMPLES (default 12, for each of the two modes).
"""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sandbox.jira import JiraSandbox, Site
from sandbox.jira.forge import JWKS_PATH, ForgeApp
from tests.support.app_process import serve_app_process, serving
from tests.support.web_stack import acme_site

EXAMPLES = int(os.environ.get("W360_FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
APP_KEY = "com.worklog360.jira"


FORGE_APP_ID = "ari:cloud:ecosystem::app/8d1f7c2e-5b3a-4e6f-9a0d-2c4b6e8f0a15"
FORGE_HEADERS = ("authorization", "x-forge-oauth-system", "x-forge-oauth-user")


@dataclass
class Stack:
    app_url: str
    jira: JiraSandbox
    site: Site
    app_key: str
    door: str = "connect"
    forge_app: ForgeApp | None = None

    def headers(self) -> dict[str, str]:
        """A fresh, valid token of a Jira administrator, as the door's pages send it: a
        Connect context JWT, or what Forge's `invokeRemote` adds (a FIT, the app's system
        token)."""
        if self.door == "forge":
            assert self.forge_app is not None
            _, _, headers, _ = self.jira.forge.ui_request(
                self.site, self.forge_app, "user-admin", "GET", "/api"
            )
            return {k: v for k, v in headers.items() if k.lower() in FORGE_HEADERS}
        token = self.site.context_token(self.app_key, "user-admin")
        return {"Authorization": f"JWT {token}"}


async def _seed(stack: Stack) -> None:
    """One of everything, made as a user would (ids 1 are then real rows)."""
    async with httpx.AsyncClient(base_url=stack.app_url, timeout=30) as http:

        async def call(method: str, path: str, body: Any = None) -> Any:
            response = await http.request(method, path, json=body, headers=stack.headers())
            assert response.status_code < 300, (method, path, response.text)
            return response.json() if response.content else None

        client = await call(
            "POST", "/api/clients", {"name": "Acme", "currency": "USD", "hourly_rate": "120.00"}
        )
        budget = await call(
            "POST",
            "/api/budgets",
            {
                "client_id": client["id"],
                "name": "Retainer",
                "project_keys": ["ACME"],
                "starts_on": "2026-01-01",
            },
        )
        worklogs = await call("GET", "/api/worklogs")
        ids = [w["id"] for w in worklogs["items"]]
        await call("POST", "/api/worklogs/assign", {"budget_id": budget["id"], "worklog_ids": ids})
        await call(
            "POST",
            f"/api/budgets/{budget['id']}/invoices",
            {"period_start": "2026-11-01", "period_end": "2026-11-30", "group_by": "issue"},
        )


@pytest.fixture(params=["connect", "forge"])
async def stack(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    """Both doors onto one tenant: the site installs the Connect app (the data is made
    through it), then the Forge app; `door` says which one the fuzzed requests come in by."""
    jira = JiraSandbox()
    async with serving(jira.app) as jira_url:
        jira.gateway_url = jira_url  # api.atlassian.com's stand-in (the FITs' apiBaseUrl)
        site = acme_site(jira, jira_url, "ACME")
        with serve_app_process(
            database_url,
            tmp_path,
            W360_CONNECT_INSTALL_KEYS_URL=f"{jira_url}/_sandbox/install-keys",
            W360_FORGE_APP_ID=FORGE_APP_ID,
            W360_FORGE_JWKS_URL=f"{jira_url}{JWKS_PATH}",
        ) as app_url:
            installation = await jira.install_app(site, f"{app_url}/atlassian-connect.json")
            stack = Stack(app_url, jira, site, installation.app_key)
            await _wait_for_backfill(stack)
            await _seed(stack)
            if request.param == "forge":
                stack.forge_app = jira.forge.register_app(app_url, app_id=FORGE_APP_ID)
                await jira.forge.install(site, stack.forge_app, installer_account_id="user-admin")
                stack.door = "forge"
                await _same_tenant_through_forge(stack)
            yield stack
        await jira.aclose()


async def _same_tenant_through_forge(stack: Stack) -> None:
    """The Forge door sees the data made through Connect (ids 1 are real rows for it too)."""
    async with httpx.AsyncClient(base_url=stack.app_url, timeout=30) as http:
        clients = await http.get("/api/clients", headers=stack.headers())
    assert clients.status_code == 200, clients.text
    assert [c["name"] for c in clients.json()["items"]] == ["Acme"]


async def _wait_for_backfill(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.app_url, timeout=30) as http:
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            answer = await http.get("/api/sync/worklogs", headers=stack.headers())
            if answer.status_code == 200 and answer.json()["state"] == "succeeded":
                return
            assert asyncio.get_running_loop().time() < deadline, answer.text
            await asyncio.sleep(0.05)  # polling a condition with a deadline


def _fuzz(stack: Stack) -> dict[str, str]:
    """Every /api operation, both modes: the first failure of each, by operation."""
    schema = schemathesis.openapi.from_url(f"{stack.app_url}/openapi.json")
    failures: dict[str, str] = {}
    calls = 0
    labels: set[str] = set()
    accepted: set[str] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/api/"):
            continue
        labels.add(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                nonlocal calls
                calls += 1
                response = case.call(base_url=stack.app_url, headers=stack.headers(), timeout=30)
                if response.status_code < 300:
                    accepted.add(case.operation.label)
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                # Negative mode on an operation that takes nothing (no parameter, no body):
                # there is no invalid request of it to make.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as exc:
                failures[f"{operation.label} ({mode})"] = "".join(
                    traceback.format_exception_only(type(exc), exc)
                )[:2000]
    # Every operation was reached, each with many requests (not one skipped by a filter).
    assert calls > 20 * EXAMPLES, calls
    # The token got the requests in: most operations answered at least one with a 2xx (not
    # a door refusing everything with a documented 401).
    assert len(accepted) >= len(labels) // 2, sorted(labels - accepted)
    print(f"fuzzed {calls} requests; {len(accepted)} of {len(labels)} operations accepted some")
    return failures


async def test_every_api_operation_answers_in_its_documented_shape(stack: Stack) -> None:
    failures = await asyncio.to_thread(_fuzz, stack)

    assert failures == {}, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
