"""The Jira sandbox behaves like Jira Cloud where Worklog360 depends on it: how it checks an
app's JWTs, installs apps, signs lifecycle callbacks, webhooks and iframe URLs, pages worklog
changes, and how tests steer it (outbox, faults, clock, call counts, control API)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from connect.qsh import canonical_request as connect_canonical_request
from connect.qsh import query_string_hash
from connect.tokens import sign_request, verify_symmetric
from sandbox.jira import (
    Installation,
    InstallFailedError,
    InstallKeyRing,
    JiraSandbox,
    SandboxClock,
    Site,
)
from sandbox.jira.signing import canonical_request as sandbox_canonical_request
from tests.sandbox.conftest import NOW_MS, SITE_URL
from tests.sandbox.connect_app import APP_KEY, ConnectApp

MINUTE_MS = 60_000


def signed_headers(
    method: str,
    url: str,
    installation: Installation,
    site: Site,
    **overrides: Any,
) -> dict[str, str]:
    """What the app sends: `Authorization: JWT` signed as the app, qsh over the site path."""
    token = sign_request(
        method,
        url,
        issuer=overrides.get("issuer", installation.app_key),
        shared_secret=overrides.get("secret", installation.shared_secret),
        base_url=site.base_url,
        extra_claims=overrides.get("extra_claims"),
        now=overrides.get("now"),
    )
    return {"Authorization": f"JWT {token}"}


def installed(site: Site, **kwargs: Any) -> Installation:
    return site.add_installation(ConnectApp().descriptor(), **kwargs)


def seed_issue(site: Site) -> tuple[str, str]:
    """A project, an issue and a user; returns (issue id, account id)."""
    if "ACME" not in {p.key for p in site.projects.values()}:
        site.add_project("ACME", "Acme Web")
    user = site.add_user("Ada Lovelace", groups=["billing"])
    issue = site.add_issue("ACME", "Build the invoice page")
    return issue.id, user.account_id


def assert_jira_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"errorMessages", "errors"}
    assert isinstance(body["errorMessages"], list)
    assert isinstance(body["errors"], dict)
    assert body["errorMessages"] or body["errors"]
    return body


# --- qsh: an independent implementation that agrees with Atlassian's -------------------------


def test_sandbox_canonical_request_matches_atlassian_reference_vector() -> None:
    canonical = sandbox_canonical_request(
        "get",
        "/path/to/service",
        "zee_last=param&repeated=parameter%201&first=param&repeated=parameter%202",
        "",
    )
    assert canonical == (
        "GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param"
    )


@pytest.mark.parametrize(
    ("path", "query", "base"),
    [
        (
            "/jira/rest/api/3/search/jql",
            "jql=project+%3D+%22%C3%84B+C%22&fields=b&fields=a",
            "/jira",
        ),
        ("/rest/api/3/user/groups", "accountId=a%2Ab~c%21%27%28%29&x=", ""),
        ("/rest/api/3/issue/A%26B/worklog/", "jwt=ignored&b=2&a=1&A=0", ""),
        ("/", "", ""),
    ],
)
def test_sandbox_and_connect_agree_on_canonical_requests(path: str, query: str, base: str) -> None:
    site_url = f"https://x.example{base}"
    assert sandbox_canonical_request("POST", path, query, base) == connect_canonical_request(
        "POST", path, query, site_url
    )


# --- authenticating the app's REST calls -----------------------------------------------------


async def test_rest_call_signed_as_the_installed_app_is_accepted(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    installation = installed(site)
    url = f"{SITE_URL}/rest/api/3/myself"
    response = await jira_http.get(url, headers=signed_headers("GET", url, installation, site))
    assert response.status_code == 200
    me = response.json()
    assert me["accountId"] == installation.app_user_id
    assert me["accountType"] == "app"


async def test_site_with_a_context_path_hashes_the_path_relative_to_it(
    sandbox: JiraSandbox, jira_http: httpx.AsyncClient
) -> None:
    site = sandbox.add_site("https://jira.example.com/jira")
    other = sandbox.add_site("https://jira.example.com/other")
    installation = installed(site)
    installed(other)
    url = "https://jira.example.com/jira/rest/api/3/search/jql?jql=project%20%3D%20ACME&fields=summary"
    site.add_project("ACME")
    response = await jira_http.get(url, headers=signed_headers("GET", url, installation, site))
    assert response.status_code == 200, response.text
    assert site.calls.total() == 1
    assert other.calls.total() == 0


@pytest.mark.parametrize(
    ("mutation", "fragment"),
    [
        ({"secret": "not-the-shared-secret-of-this-installation"}, "signature"),
        ({"issuer": "com.someone.else"}, "Unknown"),
        ({"extra_claims": {"qsh": "0" * 64}}, "query string hash"),
        ({"extra_claims": {"qsh": "context-qsh"}}, "query string hash"),
        ({"now": time.time() - 3600}, "expired"),
    ],
)
async def test_bad_tokens_get_401_with_jiras_error_json(
    site: Site, jira_http: httpx.AsyncClient, mutation: dict[str, Any], fragment: str
) -> None:
    installation = installed(site)
    url = f"{SITE_URL}/rest/api/3/myself"
    response = await jira_http.get(
        url, headers=signed_headers("GET", url, installation, site, **mutation)
    )
    body = assert_jira_error(response, 401)
    assert fragment in body["errorMessages"][0]


async def test_token_for_another_query_is_refused(site: Site, jira_http: httpx.AsyncClient) -> None:
    installation = installed(site)
    signed_for = f"{SITE_URL}/rest/api/3/worklog/updated?since=0"
    headers = signed_headers("GET", signed_for, installation, site)
    response = await jira_http.get(
        f"{SITE_URL}/rest/api/3/worklog/updated?since=1", headers=headers
    )
    assert_jira_error(response, 401)


async def test_missing_header_and_foreign_algorithms_are_refused(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    installation = installed(site)
    url = f"{SITE_URL}/rest/api/3/myself"
    assert_jira_error(await jira_http.get(url), 401)
    unsigned = jwt.encode(
        {
            "iss": installation.app_key,
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "qsh": query_string_hash("GET", "/rest/api/3/myself"),
        },
        key="",
        algorithm="none",
    )
    assert_jira_error(await jira_http.get(url, headers={"Authorization": f"JWT {unsigned}"}), 401)
    assert_jira_error(await jira_http.get(url, headers={"Authorization": "Bearer abc"}), 401)


async def test_disabled_or_uninstalled_app_is_refused(
    sandbox: JiraSandbox, site: Site, jira_http: httpx.AsyncClient
) -> None:
    installation = installed(site)
    url = f"{SITE_URL}/rest/api/3/myself"
    installation.enabled = False
    assert_jira_error(
        await jira_http.get(url, headers=signed_headers("GET", url, installation, site)), 401
    )
    installation.enabled = True
    installation.installed = False
    assert_jira_error(
        await jira_http.get(url, headers=signed_headers("GET", url, installation, site)), 401
    )


async def test_requests_for_an_unknown_host_answer_404(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    response = await jira_http.get("https://nobody.atlassian.net/rest/api/3/myself")
    assert_jira_error(response, 404)


# --- installing an app like Jira does --------------------------------------------------------


async def test_install_sends_a_signed_install_the_app_can_verify(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp
) -> None:
    installation = await sandbox.install_app(site, connect_app.descriptor_url)

    assert connect_app.refused == []
    assert connect_app.events() == ["installed", "enabled"]
    installed_event, enabled_event = connect_app.lifecycle
    payload = installed_event.payload
    assert payload == {
        "key": APP_KEY,
        "clientKey": installation.client_key,
        "oauthClientId": installation.oauth_client_id,
        "sharedSecret": installation.shared_secret,
        "baseUrl": SITE_URL,
        "displayUrl": SITE_URL,
        "productType": "jira",
        "description": f"Atlassian JIRA at {SITE_URL}",
        "serviceEntitlementNumber": installation.service_entitlement_number,
        "eventType": "installed",
    }
    assert installed_event.claims.issuer == installation.client_key
    assert installed_event.claims.raw["aud"] == [connect_app.base_url]
    assert enabled_event.payload["eventType"] == "enabled"
    assert "sharedSecret" not in enabled_event.payload
    assert installation.active


async def test_install_request_is_rs256_with_kid_aud_and_lifecycle_qsh(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp
) -> None:
    installation = await sandbox.install_app(site, connect_app.descriptor_url)
    request = sandbox.lifecycle_request(site, APP_KEY, "installed")
    token = request.headers["Authorization"].removeprefix("JWT ")
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS256"
    assert header["kid"] == sandbox.install_keys.current_kid
    assert claims["iss"] == installation.client_key
    assert claims["aud"] == ["https://w360.example/app"]
    # The app's base URL has a context path (/app): the qsh is over the path relative to it.
    assert claims["qsh"] == query_string_hash("POST", "/lifecycle/installed")
    assert claims["exp"] > claims["iat"]
    assert request.url == "https://w360.example/app/lifecycle/installed"


async def test_install_fails_when_the_app_does_not_accept_installed(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp
) -> None:
    connect_app.installed_status = 500
    with pytest.raises(InstallFailedError) as failure:
        await sandbox.install_app(site, connect_app.descriptor_url)
    assert failure.value.status_code == 500
    assert site.installations == {}
    assert "enabled" not in connect_app.events()


async def test_reinstall_keeps_the_client_key_and_rotates_the_secret(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp, jira_http: httpx.AsyncClient
) -> None:
    first = await sandbox.install_app(site, connect_app.descriptor_url)
    old_secret = first.shared_secret
    second = await sandbox.install_app(site, connect_app.descriptor_url)
    assert second.client_key == first.client_key
    assert second.shared_secret != old_secret
    assert connect_app.secrets[second.client_key] == second.shared_secret

    url = f"{SITE_URL}/rest/api/3/myself"
    stale = signed_headers("GET", url, second, site, secret=old_secret)
    assert_jira_error(await jira_http.get(url, headers=stale), 401)
    fresh = signed_headers("GET", url, second, site)
    assert (await jira_http.get(url, headers=fresh)).status_code == 200


async def test_tampered_lifecycle_requests_are_refused_by_the_app(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp
) -> None:
    await sandbox.install_app(site, connect_app.descriptor_url)

    forged_site = sandbox.lifecycle_request(site, APP_KEY, "installed")
    forged_site.payload["clientKey"] = "another-tenant"
    assert (await sandbox.send_lifecycle(forged_site)).status_code == 401

    moved = sandbox.lifecycle_request(site, APP_KEY, "installed")
    moved.url = moved.url.replace("/installed", "/uninstalled")
    assert (await sandbox.send_lifecycle(moved)).status_code == 401

    foreign_key = InstallKeyRing(key_size=2048)
    claims = jwt.decode(
        sandbox.lifecycle_request(site, APP_KEY, "installed").headers["Authorization"][4:],
        options={"verify_signature": False},
    )
    forged_token = jwt.encode(
        claims,
        foreign_key.private_key(),
        algorithm="RS256",
        headers={"kid": foreign_key.current_kid},
    )
    resigned = sandbox.lifecycle_request(site, APP_KEY, "installed")
    resigned.headers["Authorization"] = f"JWT {forged_token}"
    assert (await sandbox.send_lifecycle(resigned)).status_code == 401

    assert len(connect_app.refused) == 3


async def test_a_first_install_request_can_be_built_and_tampered_before_sending(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp
) -> None:
    genuine = sandbox.installed_request(site, connect_app.descriptor())
    assert site.installations == {}
    assert site.users == {}

    for_another_tenant = sandbox.installed_request(site, connect_app.descriptor())
    for_another_tenant.body = json.dumps(
        {**for_another_tenant.payload, "clientKey": "another-tenant"}
    ).encode()
    assert (await sandbox.send_lifecycle(for_another_tenant)).status_code == 401

    assert (await sandbox.send_lifecycle(genuine)).status_code == 204
    assert connect_app.secrets == {genuine.payload["clientKey"]: genuine.payload["sharedSecret"]}


async def test_install_keys_are_served_by_kid_and_survive_rotation(
    clock: SandboxClock, connect_app: ConnectApp
) -> None:
    keys = InstallKeyRing()
    to_app = httpx.AsyncClient(transport=httpx.ASGITransport(app=connect_app.asgi))
    sandbox = JiraSandbox(http=to_app, clock=clock, install_keys=keys)
    connect_app.use_install_keys(sandbox.app, f"{SITE_URL}/_sandbox/install-keys")
    site = sandbox.add_site(SITE_URL)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as http:
        old_kid = keys.current_kid
        await sandbox.install_app(site, connect_app.descriptor_url)
        new_kid = keys.rotate()
        await sandbox.install_app(site, connect_app.descriptor_url)
        assert connect_app.refused == []
        token = sandbox.lifecycle_request(site, APP_KEY, "installed").headers["Authorization"]
        assert jwt.get_unverified_header(token[4:])["kid"] == new_kid

        old_pem = await http.get(f"{SITE_URL}/_sandbox/install-keys/{old_kid}")
        assert old_pem.status_code == 200
        assert old_pem.content.startswith(b"-----BEGIN PUBLIC KEY-----")
        keys.retire(old_kid)
        assert (await http.get(f"{SITE_URL}/_sandbox/install-keys/{old_kid}")).status_code == 404
        assert (await http.get(f"{SITE_URL}/_sandbox/install-keys/no-such-kid")).status_code == 404
    await to_app.aclose()


async def test_uninstall_disables_then_sends_a_signed_uninstalled_without_secret(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp, jira_http: httpx.AsyncClient
) -> None:
    installation = await sandbox.install_app(site, connect_app.descriptor_url)
    await sandbox.uninstall_app(site, APP_KEY)
    assert connect_app.events() == ["installed", "enabled", "disabled", "uninstalled"]
    uninstalled = connect_app.lifecycle[-1]
    assert uninstalled.payload["eventType"] == "uninstalled"
    assert "sharedSecret" not in uninstalled.payload
    url = f"{SITE_URL}/rest/api/3/myself"
    refused = await jira_http.get(url, headers=signed_headers("GET", url, installation, site))
    assert_jira_error(refused, 401)


async def test_disable_and_enable_send_hs256_callbacks(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp
) -> None:
    await sandbox.install_app(site, connect_app.descriptor_url)
    await sandbox.disable_app(site, APP_KEY)
    assert not site.installation(APP_KEY).enabled
    await sandbox.enable_app(site, APP_KEY)
    assert connect_app.events()[-2:] == ["disabled", "enabled"]
    assert connect_app.refused == []


# --- webhooks --------------------------------------------------------------------------------


async def test_worklog_changes_queue_signed_webhooks_for_subscribed_apps(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp, clock: SandboxClock
) -> None:
    await sandbox.install_app(site, connect_app.descriptor_url)
    issue_id, author = seed_issue(site)
    worklog = site.add_worklog(
        issue_id,
        author,
        started="2026-11-03T09:00:00.000+0100",
        time_spent_seconds=5400,
        comment="Wrote the\ninvoice page",
    )
    clock.advance(30)
    site.update_worklog(worklog.id, time_spent_seconds=7200)
    site.delete_worklog(worklog.id)
    assert [d.event for d in site.outbox.pending] == [
        "worklog_created",
        "worklog_updated",
        "worklog_deleted",
    ]
    assert connect_app.webhooks == []

    results = await site.deliver_webhooks()

    assert all(r.ok for r in results)
    assert connect_app.refused == []
    assert [w.event for w in connect_app.webhooks] == [
        "worklog_created",
        "worklog_updated",
        "worklog_deleted",
    ]
    created = connect_app.webhooks[0].payload
    assert created["timestamp"] == NOW_MS
    assert created["webhookEvent"] == "worklog_created"
    body = created["worklog"]
    assert body["self"] == f"{SITE_URL}/rest/api/2/issue/{issue_id}/worklog/{worklog.id}"
    assert body["id"] == worklog.id
    assert body["issueId"] == issue_id
    assert body["author"]["accountId"] == author
    assert body["updateAuthor"]["displayName"] == "Ada Lovelace"
    assert body["comment"] == "Wrote the\ninvoice page"
    assert body["started"] == "2026-11-03T09:00:00.000+0100"
    assert body["timeSpent"] == "1h 30m"
    assert body["timeSpentSeconds"] == 5400
    assert body["created"] == "2026-11-03T09:00:00.000+0000"
    updated = connect_app.webhooks[1].payload["worklog"]
    assert updated["timeSpentSeconds"] == 7200
    assert updated["updated"] == "2026-11-03T09:00:30.000+0000"
    assert connect_app.webhooks[0].claims.issuer == site.installation(APP_KEY).client_key
    assert site.outbox.pending == []


async def test_outbox_can_drop_duplicate_and_reorder_deliveries(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp
) -> None:
    await sandbox.install_app(site, connect_app.descriptor_url)
    issue_id, author = seed_issue(site)
    first = site.add_worklog(
        issue_id, author, started="2026-11-03T09:00:00.000+0000", time_spent_seconds=60
    )
    second = site.add_worklog(
        issue_id, author, started="2026-11-03T10:00:00.000+0000", time_spent_seconds=60
    )
    third = site.add_worklog(
        issue_id, author, started="2026-11-03T11:00:00.000+0000", time_spent_seconds=60
    )
    a, b, c = site.outbox.pending

    site.outbox.drop(b.id)
    twin = site.outbox.duplicate(a.id)
    site.outbox.reorder([c.id, twin.id, a.id])
    await site.deliver_webhooks()

    delivered = [w.payload["worklog"]["id"] for w in connect_app.webhooks]
    assert delivered == [third.id, first.id, first.id]
    assert second.id not in delivered


async def test_webhooks_go_only_to_enabled_apps_that_register_the_event(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp
) -> None:
    connect_app.webhook_events = ("worklog_deleted",)
    await sandbox.install_app(site, connect_app.descriptor_url)
    issue_id, author = seed_issue(site)
    worklog = site.add_worklog(
        issue_id, author, started="2026-11-03T09:00:00.000+0000", time_spent_seconds=60
    )
    assert site.outbox.pending == []
    await sandbox.disable_app(site, APP_KEY)
    site.delete_worklog(worklog.id)
    assert site.outbox.pending == []


async def test_immediate_delivery_mode_sends_webhooks_without_a_flush(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp, jira_http: httpx.AsyncClient
) -> None:
    await sandbox.install_app(site, connect_app.descriptor_url)
    seed_issue(site)
    sandbox.deliver_webhooks_immediately = True
    author = next(iter(site.users.values())).account_id
    response = await jira_http.post(
        "http://127.0.0.1/_sandbox/sites/acme/worklogs",
        json={
            "issue": "ACME-1",
            "author_account_id": author,
            "started": "2026-11-03T09:00:00.000+0100",
            "time_spent_seconds": 600,
        },
    )
    assert response.status_code == 201
    assert [w.event for w in connect_app.webhooks] == ["worklog_created"]


# --- iframe tokens ---------------------------------------------------------------------------


async def test_context_token_is_a_context_qsh_token_for_the_user(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp
) -> None:
    installation = await sandbox.install_app(site, connect_app.descriptor_url)
    _, account_id = seed_issue(site)
    token = site.context_token(APP_KEY, account_id)
    claims = verify_symmetric(
        token, installation.shared_secret, expected_qsh=None, accept_context_qsh=True
    )
    assert claims.issuer == installation.client_key
    assert claims.subject == account_id
    assert claims.is_context_token
    assert claims.expires_at - claims.issued_at == 15 * 60


async def test_page_url_is_signed_over_path_and_context_params(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp
) -> None:
    installation = await sandbox.install_app(site, connect_app.descriptor_url)
    _, account_id = seed_issue(site)
    url = site.page_url(APP_KEY, "/pages/invoices?tab=drafts&q=caf%C3%A9+bar", account_id)

    parts = urlsplit(url)
    assert url.startswith("https://w360.example/app/pages/invoices?")
    params = parse_qs(parts.query, keep_blank_values=True)
    assert params["tab"] == ["drafts"]
    assert params["q"] == ["café bar"]
    assert params["xdm_e"] == [SITE_URL]
    assert params["cp"] == [""]
    assert params["lic"] == ["none"]
    assert params["tz"] == ["UTC"]
    assert params["loc"] == ["en-US"]
    expected = query_string_hash("GET", parts.path, parts.query, connect_app.base_url)
    claims = verify_symmetric(params["jwt"][0], installation.shared_secret, expected_qsh=expected)
    assert claims.subject == account_id


# --- REST resources --------------------------------------------------------------------------


async def get(
    http: httpx.AsyncClient, site: Site, installation: Installation, path: str
) -> httpx.Response:
    url = f"{site.base_url}{path}"
    return await http.get(url, headers=signed_headers("GET", url, installation, site))


async def post(
    http: httpx.AsyncClient, site: Site, installation: Installation, path: str, body: Any
) -> httpx.Response:
    url = f"{site.base_url}{path}"
    return await http.post(url, json=body, headers=signed_headers("POST", url, installation, site))


async def test_worklog_updated_pages_oldest_first_and_hides_the_last_minute(
    site: Site, jira_http: httpx.AsyncClient, clock: SandboxClock
) -> None:
    installation = installed(site)
    issue_id, author = seed_issue(site)
    for n in range(1200):
        site.add_worklog(
            issue_id,
            author,
            started="2026-11-03T09:00:00.000+0000",
            time_spent_seconds=60,
            created_ms=NOW_MS - 10 * MINUTE_MS + n,
        )
    recent = site.add_worklog(
        issue_id,
        author,
        started="2026-11-03T09:00:00.000+0000",
        time_spent_seconds=60,
        created_ms=NOW_MS - 30_000,
    )

    first = (await get(jira_http, site, installation, "/rest/api/3/worklog/updated?since=0")).json()
    assert len(first["values"]) == 1000
    assert first["values"][0] == {
        "worklogId": 10000,
        "updatedTime": NOW_MS - 10 * MINUTE_MS,
        "properties": [],
    }
    assert first["lastPage"] is False
    assert first["until"] == first["values"][-1]["updatedTime"]
    assert first["nextPage"] == f"{SITE_URL}/rest/api/3/worklog/updated?since={first['until']}"
    assert first["self"] == f"{SITE_URL}/rest/api/3/worklog/updated?since=0"

    second_path = urlsplit(first["nextPage"])
    second = (
        await get(jira_http, site, installation, f"{second_path.path}?{second_path.query}")
    ).json()
    assert len(second["values"]) == 200
    assert second["lastPage"] is True
    assert "nextPage" not in second
    assert int(recent.id) not in [v["worklogId"] for v in second["values"]]

    clock.advance(31)
    third = (
        await get(
            jira_http, site, installation, f"/rest/api/3/worklog/updated?since={second['until']}"
        )
    ).json()
    assert [v["worklogId"] for v in third["values"]] == [int(recent.id)]


async def test_a_page_never_splits_changes_sharing_one_millisecond(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    installation = installed(site)
    issue_id, author = seed_issue(site)
    start = NOW_MS - 5 * MINUTE_MS
    times = (
        [start + n for n in range(998)] + [start + 998] * 10 + [start + 999 + n for n in range(5)]
    )
    for at in times:
        site.add_worklog(
            issue_id,
            author,
            started="2026-11-03T09:00:00.000+0000",
            time_spent_seconds=60,
            created_ms=at,
        )

    first = (await get(jira_http, site, installation, "/rest/api/3/worklog/updated?since=0")).json()
    assert len(first["values"]) == 1008
    assert first["until"] == start + 998
    second = (
        await get(
            jira_http, site, installation, f"/rest/api/3/worklog/updated?since={first['until']}"
        )
    ).json()
    assert len(second["values"]) == 5
    seen = [v["worklogId"] for v in first["values"] + second["values"]]
    assert sorted(seen) == sorted(int(w) for w in site.worklogs)


async def test_worklog_deleted_lists_deletions_with_their_time(
    site: Site, jira_http: httpx.AsyncClient, clock: SandboxClock
) -> None:
    installation = installed(site)
    issue_id, author = seed_issue(site)
    worklog = site.add_worklog(
        issue_id, author, started="2026-11-03T09:00:00.000+0000", time_spent_seconds=60
    )
    site.delete_worklog(worklog.id)
    clock.advance(61)
    page = (await get(jira_http, site, installation, "/rest/api/3/worklog/deleted?since=0")).json()
    assert page["values"] == [
        {"worklogId": int(worklog.id), "updatedTime": NOW_MS, "properties": []}
    ]
    updated = (
        await get(jira_http, site, installation, "/rest/api/3/worklog/updated?since=0")
    ).json()
    assert updated["values"] == []


async def test_worklog_list_returns_known_ids_and_refuses_more_than_1000(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    installation = installed(site)
    issue_id, author = seed_issue(site)
    worklog = site.add_worklog(
        issue_id,
        author,
        started="2026-11-03T09:00:00.000+0100",
        time_spent_seconds=3600,
        comment="Design review",
    )
    response = await post(
        jira_http, site, installation, "/rest/api/3/worklog/list", {"ids": [int(worklog.id), 99999]}
    )
    assert response.status_code == 200
    [body] = response.json()
    assert body["id"] == worklog.id
    assert body["issueId"] == issue_id
    assert body["started"] == "2026-11-03T09:00:00.000+0100"
    assert body["comment"]["type"] == "doc"
    assert body["self"] == f"{SITE_URL}/rest/api/3/issue/{issue_id}/worklog/{worklog.id}"

    too_many = await post(
        jira_http, site, installation, "/rest/api/3/worklog/list", {"ids": list(range(1001))}
    )
    assert_jira_error(too_many, 400)


async def test_issue_worklogs_are_paged_and_unknown_issues_answer_404(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    installation = installed(site)
    issue_id, author = seed_issue(site)
    for hour in range(5):
        site.add_worklog(
            issue_id, author, started=f"2026-11-03T0{hour}:00:00.000+0000", time_spent_seconds=60
        )
    page = (
        await get(
            jira_http, site, installation, "/rest/api/3/issue/ACME-1/worklog?startAt=2&maxResults=2"
        )
    ).json()
    assert (page["startAt"], page["maxResults"], page["total"]) == (2, 2, 5)
    assert [w["started"][:13] for w in page["worklogs"]] == ["2026-11-03T02", "2026-11-03T03"]
    missing = await get(jira_http, site, installation, "/rest/api/3/issue/NOPE-1/worklog")
    body = assert_jira_error(missing, 404)
    assert body["errorMessages"] == [
        "Issue does not exist or you do not have permission to see it."
    ]


async def test_worklogs_written_over_rest_are_the_apps_and_fire_webhooks(
    sandbox: JiraSandbox, site: Site, connect_app: ConnectApp, jira_http: httpx.AsyncClient
) -> None:
    installation = await sandbox.install_app(site, connect_app.descriptor_url)
    seed_issue(site)
    created = await post(
        jira_http,
        site,
        installation,
        "/rest/api/3/issue/ACME-1/worklog",
        {
            "started": "2026-11-03T09:00:00.000+0100",
            "timeSpentSeconds": 1800,
            "comment": {"type": "doc", "version": 1, "content": []},
        },
    )
    assert created.status_code == 201
    worklog = created.json()
    assert worklog["author"]["accountId"] == installation.app_user_id

    url = f"{SITE_URL}/rest/api/3/issue/ACME-1/worklog/{worklog['id']}"
    changed = await jira_http.put(
        url, json={"timeSpent": "1h 15m"}, headers=signed_headers("PUT", url, installation, site)
    )
    assert changed.json()["timeSpentSeconds"] == 4500
    deleted = await jira_http.delete(url, headers=signed_headers("DELETE", url, installation, site))
    assert deleted.status_code == 204
    assert [d.event for d in site.outbox.pending] == [
        "worklog_created",
        "worklog_updated",
        "worklog_deleted",
    ]
    bad = await post(
        jira_http,
        site,
        installation,
        "/rest/api/3/issue/ACME-1/worklog",
        {"started": "2026-11-03 09:00", "timeSpentSeconds": 60},
    )
    assert assert_jira_error(bad, 400)["errors"] == {"started": "Invalid started date and time."}


async def test_search_jql_pages_with_next_page_token_and_validates_like_jira(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    installation = installed(site)
    site.add_project("ACME", "Acme Web")
    issues = [site.add_issue("ACME", f"Task {n}") for n in range(130)]
    ids = ",".join(i.id for i in issues)
    body = {"jql": f"id in ({ids})", "fields": ["summary", "project"], "maxResults": 500}
    first = (await post(jira_http, site, installation, "/rest/api/3/search/jql", body)).json()
    assert len(first["issues"]) == 100
    assert first["isLast"] is False
    assert first["issues"][0] == {
        "expand": "",
        "id": issues[0].id,
        "self": f"{SITE_URL}/rest/api/3/issue/{issues[0].id}",
        "key": "ACME-1",
        "fields": {
            "summary": "Task 0",
            "project": {
                "self": f"{SITE_URL}/rest/api/3/project/{issues[0].project_id}",
                "id": issues[0].project_id,
                "key": "ACME",
                "name": "Acme Web",
                "projectTypeKey": "software",
                "simplified": False,
            },
        },
    }
    second = (
        await post(
            jira_http,
            site,
            installation,
            "/rest/api/3/search/jql",
            {**body, "nextPageToken": first["nextPageToken"]},
        )
    ).json()
    assert len(second["issues"]) == 30
    assert second["isLast"] is True
    assert "nextPageToken" not in second

    missing = await post(
        jira_http,
        site,
        installation,
        "/rest/api/3/search/jql",
        {"jql": f"id in ({issues[0].id}, 424242)"},
    )
    assert assert_jira_error(missing, 400)["errorMessages"] == [
        "An issue with key '424242' does not exist for field 'id'."
    ]
    unbounded = await post(jira_http, site, installation, "/rest/api/3/search/jql", {"jql": ""})
    assert_jira_error(unbounded, 400)
    by_key = (
        await get(
            jira_http,
            site,
            installation,
            "/rest/api/3/search/jql?jql=key%20in%20(ACME-2%2C%22ACME-3%22)",
        )
    ).json()
    assert by_key["issues"] == [{"id": issues[1].id}, {"id": issues[2].id}]
    garbage = await post(
        jira_http, site, installation, "/rest/api/3/search/jql", {"jql": "summary ~ invoice"}
    )
    assert_jira_error(garbage, 400)


async def test_permissions_groups_and_users(site: Site, jira_http: httpx.AsyncClient) -> None:
    installation = installed(site)
    admin = site.add_user("Grace Admin", global_permissions=["ADMINISTER"], groups=["jira-admins"])
    member = site.add_user("Linus Member", groups=["billing", "developers"])
    check = await post(
        jira_http,
        site,
        installation,
        "/rest/api/3/permissions/check",
        {"accountId": admin.account_id, "globalPermissions": ["ADMINISTER"]},
    )
    assert check.json() == {"globalPermissions": ["ADMINISTER"], "projectPermissions": []}
    check = await post(
        jira_http,
        site,
        installation,
        "/rest/api/3/permissions/check",
        {"accountId": member.account_id, "globalPermissions": ["ADMINISTER"]},
    )
    assert check.json()["globalPermissions"] == []

    groups = (
        await get(
            jira_http, site, installation, f"/rest/api/3/user/groups?accountId={member.account_id}"
        )
    ).json()
    assert [g["name"] for g in groups] == ["billing", "developers"]
    assert all(g["groupId"] for g in groups)
    unknown = await get(jira_http, site, installation, "/rest/api/3/user/groups?accountId=nobody")
    assert_jira_error(unknown, 404)


async def test_project_search_pages_filters_by_keys_and_query_like_jira(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    installation = installed(site)
    for key, name in (("WEB", "Website"), ("APP", "Mobile app"), ("OPS", "Operations")):
        site.add_project(key, name)
    for n in range(1, 8):
        site.add_project(f"P{n}", f"Project {n}")

    first = (
        await get(jira_http, site, installation, "/rest/api/3/project/search?maxResults=4")
    ).json()
    assert (first["startAt"], first["maxResults"], first["total"], first["isLast"]) == (
        0,
        4,
        10,
        False,
    )
    assert [p["key"] for p in first["values"]] == ["APP", "OPS", "P1", "P2"]
    assert first["values"][0] == {
        "self": f"{SITE_URL}/rest/api/3/project/{site.project('APP').id}",
        "id": site.project("APP").id,
        "key": "APP",
        "name": "Mobile app",
        "projectTypeKey": "software",
        "simplified": False,
    }
    assert first["nextPage"] == f"{SITE_URL}/rest/api/3/project/search?startAt=4&maxResults=4"
    last = (await get(jira_http, site, installation, "/rest/api/3/project/search?startAt=8")).json()
    assert [p["key"] for p in last["values"]] == ["P7", "WEB"]
    assert last["isLast"] is True and "nextPage" not in last

    # keys: the ones Jira has, the rest simply absent (no error).
    by_keys = (
        await get(
            jira_http, site, installation, "/rest/api/3/project/search?keys=WEB&keys=NOPE&keys=ops"
        )
    ).json()
    assert [p["key"] for p in by_keys["values"]] == ["OPS", "WEB"]
    assert by_keys["total"] == 2
    too_many = "&".join(f"keys=K{n}" for n in range(51))
    refused = await get(jira_http, site, installation, f"/rest/api/3/project/search?{too_many}")
    assert_jira_error(refused, 400)

    # query: part of a key or a name, any case; orderBy name, descending.
    found = (
        await get(
            jira_http, site, installation, "/rest/api/3/project/search?query=APP&orderBy=-name"
        )
    ).json()
    assert [p["key"] for p in found["values"]] == ["APP"]
    by_name = (
        await get(jira_http, site, installation, "/rest/api/3/project/search?query=o&orderBy=-name")
    ).json()
    names = [p["name"] for p in by_name["values"]]
    assert names[:2] == ["Project 7", "Project 6"] and names[-2:] == ["Operations", "Mobile app"]
    bad_order = await get(
        jira_http, site, installation, "/rest/api/3/project/search?orderBy=owner2"
    )
    assert_jira_error(bad_order, 400)

    one = await get(jira_http, site, installation, "/rest/api/3/project/web")
    assert one.status_code == 200 and one.json()["key"] == "WEB"
    missing = await get(jira_http, site, installation, "/rest/api/3/project/NOPE")
    assert assert_jira_error(missing, 404)["errorMessages"] == [
        "No project could be found with key 'NOPE'."
    ]
    assert site.calls.count("GET", "/rest/api/3/project/search") == 7
    # Signed as the app like every other route.
    unsigned = await jira_http.get(f"{SITE_URL}/rest/api/3/project/search")
    assert_jira_error(unsigned, 401)


# --- faults and call counts ------------------------------------------------------------------


async def test_rate_limit_faults_carry_jiras_headers(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    installation = installed(site)
    site.faults.fail_next(1, retry_after=5, rate_limit_reset=True)
    site.faults.fail_next(1, status=503)
    limited = await get(jira_http, site, installation, "/rest/api/3/myself")
    assert_jira_error(limited, 429)
    assert limited.headers["Retry-After"] == "5"
    assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
    assert limited.headers["X-RateLimit-Reset"] == "2026-11-03T09:00Z"
    unavailable = await get(jira_http, site, installation, "/rest/api/3/myself")
    assert unavailable.status_code == 503
    assert "Retry-After" not in unavailable.headers
    assert (await get(jira_http, site, installation, "/rest/api/3/myself")).status_code == 200


async def test_route_specific_faults_and_latency_through_the_injected_sleep(
    sandbox: JiraSandbox, site: Site, jira_http: httpx.AsyncClient
) -> None:
    slept: list[float] = []

    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    sandbox.sleep = record_sleep
    installation = installed(site)
    site.faults.latency_seconds = 0.25
    site.faults.fail_next(1, route="/rest/api/3/worklog/updated")
    assert (await get(jira_http, site, installation, "/rest/api/3/myself")).status_code == 200
    assert (
        await get(jira_http, site, installation, "/rest/api/3/worklog/updated")
    ).status_code == 429
    assert slept == [0.25, 0.25]


async def test_calls_are_counted_per_route_template_and_resettable(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    installation = installed(site)
    seed_issue(site)
    await get(jira_http, site, installation, "/rest/api/3/issue/ACME-1/worklog")
    await get(jira_http, site, installation, "/rest/api/3/issue/ACME-1/worklog?startAt=1")
    await get(jira_http, site, installation, "/rest/api/3/myself")
    assert site.calls.count("GET", "/rest/api/3/issue/{issueIdOrKey}/worklog") == 2
    assert site.calls.count(route="/rest/api/3/myself") == 1
    assert site.calls.total() == 3
    site.calls.reset()
    assert site.calls.total() == 0


# --- the control API (what the demo and end-to-end tests use) --------------------------------


async def test_control_api_arranges_a_site_and_reports_on_it(
    sandbox: JiraSandbox, jira_http: httpx.AsyncClient, connect_app: ConnectApp
) -> None:
    control = "http://127.0.0.1:9000/_sandbox"
    site = (
        await jira_http.post(
            f"{control}/sites", json={"base_url": "http://127.0.0.1:9000/sites/acme"}
        )
    ).json()
    assert site["name"] == "acme"
    sites = f"{control}/sites/acme"
    user = (
        await jira_http.post(
            f"{sites}/users", json={"display_name": "Ada", "global_permissions": ["ADMINISTER"]}
        )
    ).json()
    await jira_http.post(f"{sites}/projects", json={"key": "ACME", "name": "Acme"})
    issue = (
        await jira_http.post(f"{sites}/issues", json={"project": "ACME", "summary": "S"})
    ).json()
    assert issue["key"] == "ACME-1"
    installed_app = await jira_http.post(
        f"{sites}/apps", json={"descriptor_url": connect_app.descriptor_url}
    )
    assert installed_app.status_code == 201, installed_app.text
    worklog = (
        await jira_http.post(
            f"{sites}/worklogs",
            json={
                "issue": "ACME-1",
                "author_account_id": user["account_id"],
                "started": "2026-11-03T09:00:00.000+0100",
                "time_spent_seconds": 900,
            },
        )
    ).json()
    await jira_http.patch(f"{sites}/worklogs/{worklog['id']}", json={"time_spent_seconds": 1200})
    pending = (await jira_http.get(f"{sites}/webhooks")).json()["pending"]
    assert [p["event"] for p in pending] == ["worklog_created", "worklog_updated"]
    await jira_http.post(
        f"{sites}/webhooks/reorder", json={"order": [pending[1]["id"], pending[0]["id"]]}
    )
    await jira_http.post(f"{sites}/webhooks/{pending[0]['id']}/duplicate")
    delivered = (await jira_http.post(f"{sites}/webhooks/deliver")).json()
    assert [d["event"] for d in delivered] == [
        "worklog_updated",
        "worklog_created",
        "worklog_created",
    ]
    assert all(d["status_code"] == 204 for d in delivered)

    page = (
        await jira_http.get(
            f"{sites}/apps/{APP_KEY}/page-url",
            params={"path": "/pages/home", "account_id": user["account_id"]},
        )
    ).json()
    assert page["url"].startswith("https://w360.example/app/pages/home?")
    assert parse_qs(urlsplit(page["url"]).query, keep_blank_values=True)["cp"] == ["/sites/acme"]
    token = (
        await jira_http.get(
            f"{sites}/apps/{APP_KEY}/context-token", params={"account_id": user["account_id"]}
        )
    ).json()["token"]
    assert jwt.decode(token, options={"verify_signature": False})["qsh"] == "context-qsh"

    await jira_http.post(f"{sites}/faults", json={"status": 429, "count": 2, "retry_after": 1})
    await jira_http.put(f"{sites}/faults/latency", json={"seconds": 0})
    assert sandbox.site("acme").faults.pending == 2
    await jira_http.delete(f"{sites}/faults")
    assert sandbox.site("acme").faults.pending == 0

    clock = (await jira_http.post(f"{control}/clock", json={"advance_ms": 90_000})).json()
    assert clock == {"now_ms": NOW_MS + 90_000, "frozen": True}
    calls = (await jira_http.get(f"{sites}/calls")).json()
    assert calls == {"total": 0, "calls": []}
    summary = (await jira_http.get(sites)).json()
    assert summary["counts"]["worklogs"] == 1
    assert summary["apps"][0]["enabled"] is True

    removed = await jira_http.delete(f"{sites}/worklogs/{worklog['id']}")
    assert removed.status_code == 204
    uninstalled = (await jira_http.delete(f"{sites}/apps/{APP_KEY}")).json()
    assert uninstalled["installed"] is False
    assert connect_app.refused == []


async def test_control_api_errors_use_jiras_error_shape(jira_http: httpx.AsyncClient) -> None:
    missing = await jira_http.get("http://127.0.0.1:9000/_sandbox/sites/nope")
    assert_jira_error(missing, 404)
    invalid = await jira_http.post("http://127.0.0.1:9000/_sandbox/sites", json={})
    assert_jira_error(invalid, 400)


async def test_a_site_seeded_with_100k_worklogs_pages_them_quickly(
    site: Site, jira_http: httpx.AsyncClient
) -> None:
    control = f"{SITE_URL}/_sandbox/sites/{site.name}"
    registered = await jira_http.post(
        f"{control}/installations", json={"descriptor": ConnectApp().descriptor()}
    )
    assert registered.status_code == 201
    assert registered.json()["shared_secret"] == site.installation(APP_KEY).shared_secret
    seeded = await jira_http.post(f"{control}/seed", json={"issues": 2000, "worklogs": 100_000})
    assert seeded.json()["worklogs"] == 100_000
    assert len(site.issues) == 2000
    assert site.outbox.pending == []

    installation = site.installation(APP_KEY)
    seen = 0
    path = "/rest/api/3/worklog/updated?since=0"
    while True:
        page = (await get(jira_http, site, installation, path)).json()
        seen += len(page["values"])
        if page["lastPage"]:
            break
        path = f"/rest/api/3/worklog/updated?since={page['until']}"
    assert seen == 100_000
    assert site.calls.total() == 100
