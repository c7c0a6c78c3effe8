"""The iframe pages: each opens with Jira's page JWT and carries what its scripts need
(all.js, the API's address, its own script); the static files are served by the app."""

from __future__ import annotations

import pytest

from tests.support.world import World

PAGES = {
    "/pages/worklogs": "worklogs.js",
    "/pages/clients": "clients.js",
    "/pages/budgets": "budgets.js",
    "/pages/settings/integrations": "settings.js",
    "/pages/invoices": "invoices.js",
    "/pages/issue-glance?issueKey=ALPHA-1&issueId=10001": "issue-glance.js",
}


@pytest.mark.parametrize("path", sorted(PAGES))
async def test_each_page_loads_all_js_the_api_client_and_its_script(
    world: World, path: str
) -> None:
    url = world.site.page_url(world.app_key, path, "user-1")
    response = await world.client.get(url)
    assert response.status_code == 200, response.text
    html = response.text
    settings = world.runtime.settings
    assert f'src="{settings.connect_all_js_url}"' in html
    assert f'data-api-base="{settings.base_url}"' in html
    assert f"{settings.base_url}/static/js/api.js" in html
    assert f"{settings.base_url}/static/css/ads.css" in html
    assert PAGES[path] in html
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers


async def test_a_page_without_the_page_jwt_is_refused(world: World) -> None:
    response = await world.client.get("/pages/budgets")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "asset",
    [
        "css/ads.css",
        "js/api.js",
        "js/worklogs.js",
        "js/clients.js",
        "js/budgets.js",
        "js/burn-chart.js",
        "js/settings.js",
    ],
)
async def test_static_files_are_served_by_the_app(world: World, asset: str) -> None:
    response = await world.client.get(f"/static/{asset}")
    assert response.status_code == 200
    assert len(response.content) > 500


async def test_api_js_sends_a_fresh_context_token_and_no_cookies(world: World) -> None:
    script = (await world.client.get("/static/js/api.js")).text
    assert "AP.context.getToken()" in script
    assert '"JWT " + token' in script
    assert 'credentials: "omit"' in script


@pytest.mark.parametrize(
    "path", ["/pages/clients", "/pages/settings/integrations", "/pages/invoices"]
)
async def test_quickbooks_screens_load_their_script_before_the_page_script(
    world: World, path: str
) -> None:
    url = world.site.page_url(world.app_key, path, "user-1")
    html = (await world.client.get(url)).text
    assert "/static/js/quickbooks.js" in html
    assert html.index("/static/js/quickbooks.js") < html.rindex("/static/js/")
    assert "slot-todo" not in html
