"""`worklog360 demo`: the whole product on one machine, in one command.

Starts three real HTTP servers on loopback ports, in one process and one event loop:

* the app (uvicorn, SQLite in a data folder, migrated first);
* the Jira Cloud emulator (`sandbox.jira`) with one site, `acme`, whose host page frames the
  app's pages like Jira does and serves the `all.js` stand-in the pages load;
* the QuickBooks Online emulator (`sandbox.quickbooks`) with one company of ~20 customers,
  the app's `W360_QBO_*` settings pointed at it.

Then it installs the app into the Jira site (a signed install, as Jira does it), waits for
the worklog backfill, creates clients, budgets and a rate card through the app's own JSON
API, and prints one URL: the app's Worklogs page inside the emulated Jira.

`--forge` shows the other front door instead: the Forge app folder is built
(`app.forge_app.write_app`, the Custom UI bundle included) into the data folder and deployed
to the emulated Forge, the app's `W360_FORGE_*` point at the emulator's keys, and the app is
installed through Forge's lifecycle only, as a site installs Worklog360 today; the printed URL
is the Forge global page, its Custom UI served from Forge's (emulated) CDN on the other
loopback name. `--with-connect` adds the Connect app to the same site: one tenant, two doors.

This is the only product module that imports `sandbox/`; nothing else imports this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import uvicorn

from app import migrations
from app.forge_app import write_app
from app.main import create_app
from app.settings import ForgeSettings, QuickBooksSettings, Settings
from sandbox.jira import ForgeApp, JiraSandbox, Site
from sandbox.jira.forge import JWKS_PATH
from sandbox.jira.forge_ui import module_path
from sandbox.jira.host import host_page_path
from sandbox.quickbooks import QuickBooksSandbox
from sandbox.quickbooks.company import Company

T = TypeVar("T")

QBO_CLIENT_ID = "worklog360-demo"
QBO_CLIENT_SECRET = "worklog360-demo-secret"  # noqa: S105 - the emulator's, not a real one
QBO_VERIFIER_TOKEN = "worklog360-demo-verifier"  # noqa: S105
READY_TIMEOUT_SECONDS = 300.0
START_MODULE = "worklog360-worklogs"
# The demo's Forge app (what `forge register` would print); any app id would do.
FORGE_APP_ID = "ari:cloud:ecosystem::app/f0a3e360-2026-4c0d-9e3a-360de7000001"
FORGE_START_ROUTE = "worklogs"
# Forge's CDN is another origin than the Jira site: the other name of the loopback address.
OTHER_LOOPBACK_NAME = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}


@dataclass(frozen=True, slots=True)
class DemoOptions:
    host: str = "127.0.0.1"
    app_port: int = 8000
    jira_port: int = 9000
    qbo_port: int = 9100
    data_dir: Path | None = None
    worklogs: int = 2000
    days: int = 91
    seed: int = 360
    quiet: bool = True
    # The Forge door (the Forge app only, unless `with_connect`) instead of the Connect one.
    forge: bool = False
    with_connect: bool = False


@dataclass(frozen=True, slots=True)
class Person:
    account_id: str
    display_name: str
    offset_minutes: int
    admin: bool = False
    groups: tuple[str, ...] = ()


PEOPLE = (
    Person("demo-ada", "Ada Morgan", 0, admin=True),
    Person("demo-mia", "Mia Krystof", 60),
    Person("demo-noah", "Noah Patel", 330),
    Person("demo-lena", "Lena Fischer", 60),
    Person("demo-tomas", "Tomás Reyes", -300),
    Person("demo-grace", "Grace Okafor", 0, groups=("billing-team",)),
)
PROJECTS = (
    ("ACME", "Acme web shop", 5),
    ("ACMEAPP", "Acme mobile app", 3),
    ("GLX", "Globex data platform", 4),
    ("INI", "Initech migration", 3),
    ("OPS", "Internal operations", 1),
)
ISSUE_SUMMARIES = (
    "Checkout fails for saved cards",
    "Product search relevance tuning",
    "Release pipeline for the storefront",
    "Customer account deletion (GDPR)",
    "Nightly import from the ERP",
    "Performance budget for the home page",
    "Accessibility review of forms",
    "Payment provider migration",
    "Order history pagination",
    "Push notification opt-in",
    "Offline mode for the catalogue",
    "Data warehouse schema v2",
    "Monitoring and alerting",
    "Single sign-on with Okta",
    "Upgrade the database cluster",
)
COMMENTS = (
    "Implementation",
    "Code review",
    "Pairing session",
    "Client call and follow-up notes",
    "Bug fixing",
    "Writing tests",
    "Deployment and verification",
    "Investigation",
    "Planning and estimates",
    "Documentation",
)
QBO_CUSTOMERS = (
    "Acme Corporation",
    "Globex Ltd",
    "Initech",
    "Amy's Bird Sanctuary",
    "Bill's Windsurf Shop",
    "Cool Cars",
    "Diego Rodriguez",
    "Dukes Basketball Camp",
    "Freeman Sporting Goods",
    "Geeta Kalapatapu",
    "Gevelber Photography",
    "Jeff's Jalopies",
    "Kookies by Kathy",
    "Mark Cho",
    "Paulsen Medical Supplies",
    "Red Rock Diner",
    "Rondonuwu Fruit and Vegi",
    "Sushi by Katsuyuki",
    "Travis Waldron",
    "Weiskopf Consulting",
)
SECONDS_CHOICES = (900, 1800, 2700, 3600, 5400, 7200, 10800, 14400)
SECONDS_WEIGHTS = (3, 6, 3, 8, 5, 5, 2, 1)


@dataclass
class Demo:
    """A running demo: where everything is, and the emulators to act on in tests."""

    options: DemoOptions
    app_url: str
    jira_url: str
    qbo_url: str
    data_dir: Path
    jira: JiraSandbox
    site: Site
    qbo: QuickBooksSandbox
    company: Company
    settings: Settings
    admin: Person = PEOPLE[0]
    clients: dict[str, int] = field(default_factory=dict)
    budgets: dict[str, int] = field(default_factory=dict)
    worklogs: int = 0
    forge_app: ForgeApp | None = None
    connect_installed: bool = True

    def page_url(self, module_key: str = START_MODULE, **params: str) -> str:
        """The Jira page showing one of the app's Connect page modules."""
        path = host_page_path(self.site, self.settings.app_key, module_key, **params)
        return f"{self.jira_url}{path}"

    def forge_page_url(self, route: str | None = FORGE_START_ROUTE, **params: str) -> str:
        """Jira's page of the Forge app's global page (at one of its subpages), or of its
        configure page (`route="configure"`)."""
        app = self.forge
        kind = "jira:adminPage" if route == "configure" else "jira:globalPage"
        path = module_path(self.site, app, app.ui_modules_of(kind)[0])
        if route and route != "configure":
            path += f"/{route}"
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.jira_url}{path}{query}"

    def issue_url(self, issue_key: str, **params: str) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.jira_url}{self.site.context_path}/browse/{issue_key}{query}"

    @property
    def forge(self) -> ForgeApp:
        if self.forge_app is None:
            raise DemoError("This demo runs the Connect door only: start it with --forge.")
        return self.forge_app

    @property
    def start_url(self) -> str:
        return self.forge_page_url() if self.forge_app is not None else self.page_url()

    async def api(
        self, method: str, path: str, *, account_id: str | None = None, json: Any = None
    ) -> httpx.Response:
        """Call the app's JSON API as a person on its pages would: through the Forge bridge
        (invokeRemote, a fresh FIT) when the Forge app is there, else with a fresh Connect
        context token."""
        account_id = account_id or self.admin.account_id
        if self.forge_app is not None:
            return await self.jira.forge.invoke_remote(
                self.site, self.forge_app, account_id, method, path, json_body=json
            )
        token = self.site.context_token(self.settings.app_key, account_id)
        async with httpx.AsyncClient(base_url=self.app_url, timeout=30.0) as client:
            return await client.request(
                method, path, json=json, headers={"Authorization": f"JWT {token}"}
            )


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals alone: three of them share one process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DemoError(
            f"Port {port} on {host} is taken ({exc.strerror}); stop what uses it or pick "
            "another port (see `worklog360 demo --help`)."
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class DemoError(RuntimeError):
    """The demo cannot start; the message says why and what to do."""


async def _start(app: Any, sock: socket.socket, quiet: bool) -> tuple[_Server, asyncio.Task[None]]:
    config = uvicorn.Config(
        app, log_level="warning" if quiet else "info", access_log=not quiet, lifespan="on"
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise DemoError("A demo server stopped while starting.")
        await asyncio.sleep(0.02)
    return server, task


def _url(host: str, sock: socket.socket) -> str:
    return f"http://{host}:{sock.getsockname()[1]}"


def seed_jira(site: Site, options: DemoOptions, today: date) -> int:
    """People, projects, issues and ~`options.worklogs` worklogs over the last
    `options.days` days (working days only), logged before the app was installed."""
    rng = random.Random(options.seed)  # noqa: S311 - demo data, not secrets
    for person in PEOPLE:
        site.add_user(
            person.display_name,
            account_id=person.account_id,
            email=f"{person.account_id.removeprefix('demo-')}@example.com",
            global_permissions=["ADMINISTER"] if person.admin else [],
            groups=person.groups,
        )
    issues: list[tuple[str, int]] = []
    for key, name, weight in PROJECTS:
        site.add_project(key, name)
        for summary in rng.sample(ISSUE_SUMMARIES, 8):
            issues.append((site.add_issue(key, summary).key, weight))
    workdays = [
        today - timedelta(days=n)
        for n in range(1, options.days + 1)
        if (today - timedelta(days=n)).weekday() < 5
    ]
    workers = [p for p in PEOPLE if not p.admin] or list(PEOPLE)
    keys = [key for key, _ in issues]
    weights = [weight for _, weight in issues]
    for _ in range(options.worklogs):
        person = rng.choice(workers)
        day = rng.choice(workdays)
        zone = timezone(timedelta(minutes=person.offset_minutes))
        started = datetime(
            day.year,
            day.month,
            day.day,
            rng.randint(8, 16),
            rng.choice((0, 15, 30, 45)),
            tzinfo=zone,
        )
        seconds = rng.choices(SECONDS_CHOICES, SECONDS_WEIGHTS)[0]
        created_ms = int((started + timedelta(seconds=seconds)).timestamp() * 1000)
        site.add_worklog(
            rng.choices(keys, weights)[0],
            person.account_id,
            started=started,
            time_spent_seconds=seconds,
            comment=rng.choice(COMMENTS),
            created_ms=created_ms,
            notify=False,
        )
    return options.worklogs


def seed_quickbooks(qbo: QuickBooksSandbox, app_url: str) -> Company:
    company = qbo.add_company("Worklog360 Demo Books")
    for name in QBO_CUSTOMERS:
        slug = "".join(c for c in name.lower() if c.isalnum())[:20]
        qbo.add_customer(company.realm_id, name, email=f"accounts@{slug}.example")
    qbo.register_client(
        client_id=QBO_CLIENT_ID,
        client_secret=QBO_CLIENT_SECRET,
        redirect_uris=[f"{app_url}/quickbooks/callback"],
        webhook_url=f"{app_url}/webhooks/quickbooks",
        verifier_token=QBO_VERIFIER_TOKEN,
    )
    return company


def app_settings(options: DemoOptions, data_dir: Path, app: str, jira: str, qbo: str) -> Settings:
    forge = (
        ForgeSettings(app_id=FORGE_APP_ID, jwks_url=f"{jira}{JWKS_PATH}")
        if options.forge
        else ForgeSettings()
    )
    return Settings(
        forge=forge,
        env="development",
        base_url=app,
        database_url=f"sqlite:///{data_dir / 'worklog360.db'}",
        secret_key=secrets.token_urlsafe(48),
        data_dir=data_dir,
        auto_migrate=False,
        connect_install_keys_url=f"{jira}/_sandbox/install-keys",
        connect_all_js_url=f"{jira}/atlassian-connect/all.js",
        qbo=QuickBooksSettings(
            client_id=QBO_CLIENT_ID,
            client_secret=QBO_CLIENT_SECRET,
            environment="sandbox",
            authorize_url=f"{qbo}/connect/oauth2",
            token_url=f"{qbo}/oauth2/v1/tokens/bearer",
            revoke_url=f"{qbo}/v2/oauth2/tokens/revoke",
            api_base_url=qbo,
            webhook_verifier_token=QBO_VERIFIER_TOKEN,
        ),
    )


async def _checked(response: Awaitable[httpx.Response], what: str) -> dict[str, Any]:
    answer = await response
    if answer.status_code >= 300:
        raise DemoError(f"Setting up the demo failed at {what}: {answer.status_code} {answer.text}")
    body: dict[str, Any] = answer.json()
    return body


async def _wait_for_backfill(demo: Demo) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_SECONDS
    while loop.time() < deadline:
        status = await _checked(demo.api("GET", "/api/sync/worklogs"), "the worklog backfill")
        if status["state"] == "succeeded":
            return
        if status["state"] == "failed":
            raise DemoError(f"The worklog backfill failed: {status['error']}")
        await asyncio.sleep(0.2)
    raise DemoError("The worklog backfill did not finish in time.")


async def load_billing(demo: Demo, today: date) -> None:
    """Clients, budgets, a rate card and settings, through the app's own API."""
    await _checked(
        demo.api(
            "PATCH",
            "/api/settings",
            json={
                "default_hourly_rate": "100.00",
                "rounding_minutes": 15,
                "rounding_mode": "up",
                "billing_group": "billing-team",
            },
        ),
        "the billing settings",
    )
    clients = (
        ("Acme Corporation", "150.00", "billing@acme.example", "1 Acme Way\nSpringfield"),
        ("Globex Ltd", "135.00", "finance@globex.example", "42 Globex Plaza\nCypress Creek"),
        ("Initech", "160.00", "ap@initech.example", "4120 Freidrich Lane\nAustin, TX"),
    )
    for name, rate, email, address in clients:
        body = await _checked(
            demo.api(
                "POST",
                "/api/clients",
                json={
                    "name": name,
                    "currency": "USD",
                    "hourly_rate": rate,
                    "billing_email": email,
                    "address": address,
                },
            ),
            f"creating the client {name}",
        )
        demo.clients[name] = int(body["id"])
    quarter_start = (today.replace(day=1) - timedelta(days=70)).replace(day=1)
    budgets: tuple[tuple[str, str, dict[str, Any]], ...] = (
        (
            "Acme web shop",
            "Acme Corporation",
            {"project_keys": ["ACME"], "hours_cap": "600.00", "starts_on": quarter_start},
        ),
        (
            "Acme mobile app retainer",
            "Acme Corporation",
            {
                "kind": "retainer",
                "project_keys": ["ACMEAPP"],
                "amount_cap": "40000.00",
                "starts_on": quarter_start,
            },
        ),
        (
            "Globex data platform",
            "Globex Ltd",
            {
                "project_keys": ["GLX"],
                "hourly_rate": "140.00",
                "hours_cap": "350.00",
                "amount_cap": "49000.00",
                "starts_on": quarter_start,
            },
        ),
        (
            "Initech migration",
            "Initech",
            {
                "project_keys": ["INI"],
                "hours_cap": "250.00",
                "starts_on": today - timedelta(days=45),
                "ends_on": today + timedelta(days=45),
            },
        ),
    )
    for name, client, fields in budgets:
        payload = {"client_id": demo.clients[client], "name": name, **fields}
        for key in ("starts_on", "ends_on"):
            if key in payload:
                payload[key] = payload[key].isoformat()
        body = await _checked(demo.api("POST", "/api/budgets", json=payload), f"the budget {name}")
        demo.budgets[name] = int(body["id"])
    await _checked(
        demo.api(
            "PUT",
            f"/api/budgets/{demo.budgets['Globex data platform']}/rates",
            json=[
                {
                    "account_id": "demo-mia",
                    "hourly_rate": "155.00",
                    "effective_from": quarter_start.isoformat(),
                },
                {
                    "account_id": "demo-noah",
                    "hourly_rate": "125.00",
                    "effective_from": quarter_start.isoformat(),
                },
            ],
        ),
        "the Globex rate card",
    )


async def install_forge_app(demo: Demo) -> ForgeApp:
    """Build the Forge app folder as `worklog360 forge-app` does (the remote is the demo's
    app), deploy it to the emulated Forge and install it on the site as its administrator:
    Forge delivers `avi:forge:installed:app`, and the app places the site and backfills."""
    folder = demo.data_dir / "forge-app"
    await asyncio.to_thread(write_app, folder, demo.app_url, FORGE_APP_ID, loopback=True)
    app = demo.jira.forge.deploy(folder)
    await demo.jira.forge.install(demo.site, app, installer_account_id=demo.admin.account_id)
    return app


async def run_demo(
    options: DemoOptions,
    *,
    ready: Callable[[Demo], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Start everything, load the data, call `ready`, and serve until `stop` is set."""
    if options.forge and options.host not in OTHER_LOOPBACK_NAME:
        raise DemoError(
            "--forge needs --host 127.0.0.1 or localhost: Forge's CDN is emulated on the "
            "other of those two names (another origin than the Jira site, as Forge's is)."
        )
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="worklog360-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    sockets = [
        _bind(options.host, p) for p in (options.app_port, options.jira_port, options.qbo_port)
    ]
    app_url, jira_url, qbo_url = (_url(options.host, s) for s in sockets)
    settings = app_settings(options, data_dir, app_url, jira_url, qbo_url)
    await asyncio.to_thread(migrations.upgrade, settings.database_url)

    if options.forge:
        # The app reaches api.atlassian.com's stand-in on the emulator itself; the browser
        # reaches Forge's CDN on the other loopback name.
        cdn = f"http://{OTHER_LOOPBACK_NAME[options.host]}:{sockets[1].getsockname()[1]}"
        jira = JiraSandbox(
            deliver_webhooks_immediately=True, gateway_url=jira_url, forge_cdn_url=cdn
        )
    else:
        jira = JiraSandbox(deliver_webhooks_immediately=True)
    site = jira.add_site(f"{jira_url}/sites/acme")
    qbo = QuickBooksSandbox(deliver_webhooks_immediately=True)
    company = seed_quickbooks(qbo, app_url)
    today = datetime.now(UTC).date()
    count = seed_jira(site, options, today)

    servers: list[tuple[_Server, asyncio.Task[None]]] = []
    try:
        for app, sock in zip((create_app(settings), jira.app, qbo.app), sockets, strict=True):
            servers.append(await _start(app, sock, options.quiet))
        demo = Demo(
            options=options,
            app_url=app_url,
            jira_url=jira_url,
            qbo_url=qbo_url,
            data_dir=data_dir,
            jira=jira,
            site=site,
            qbo=qbo,
            company=company,
            settings=settings,
            worklogs=count,
        )
        if options.forge:
            demo.forge_app = await install_forge_app(demo)
            demo.connect_installed = options.with_connect
        if not options.forge or options.with_connect:
            await jira.install_app(site, f"{app_url}/atlassian-connect.json")
        await _wait_for_backfill(demo)
        await load_billing(demo, today)
        if ready is not None:
            ready(demo)
        await (stop or asyncio.Event()).wait()
    finally:
        for server, _ in servers:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in servers), return_exceptions=True)
        await jira.aclose()
        await qbo.aclose()
        for sock in sockets:
            sock.close()


def main(options: DemoOptions) -> int:
    """The CLI: print the one URL to open, serve until Ctrl+C."""

    def announce(demo: Demo) -> None:
        doors = "the Connect app"
        if demo.forge_app is not None:
            doors = "the Forge app" + (" and the Connect app" if demo.connect_installed else "")
        print(
            f"Worklog360 demo ({doors}): {demo.worklogs} worklogs, {len(demo.clients)} "
            f"clients, {len(demo.budgets)} budgets, QuickBooks company '{demo.company.name}' "
            f"with {len(QBO_CUSTOMERS)} customers. Data in {demo.data_dir}. Ctrl+C stops it.",
            file=sys.stderr,
        )
        print(demo.start_url, flush=True)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Not on every platform, nor off the main thread: Ctrl+C then stops it the
            # default way (KeyboardInterrupt), which run_demo also cleans up after.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        await run_demo(options, ready=announce, stop=stop)

    if options.quiet:
        # Every call between the three servers is logged at INFO; the URL is what matters.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    print("Starting the Worklog360 demo (app, Jira and QuickBooks emulators)…", file=sys.stderr)
    try:
        asyncio.run(serve())
    except DemoError as exc:
        print(f"worklog360 demo: {exc}", file=sys.stderr)
        return 1
    return 0


class DemoInBackground:
    """The demo on a thread of its own (browser tests drive it from synchronous code)."""

    def __init__(self, options: DemoOptions) -> None:
        self._options = options
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._demo: Demo | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="worklog360-demo", daemon=True)

    def _run(self) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await run_demo(self._options, ready=self._on_ready, stop=self._stop)

        try:
            asyncio.run(serve())
        except BaseException as exc:  # handed to the thread that waits in start()
            self._error = exc
        finally:
            self._ready.set()

    def _on_ready(self, demo: Demo) -> None:
        self._demo = demo
        self._ready.set()

    def start(self, timeout: float = READY_TIMEOUT_SECONDS) -> Demo:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise DemoError("The demo did not start in time.")
        if self._demo is None:
            raise DemoError(f"The demo did not start: {self._error!r}") from self._error
        return self._demo

    @property
    def demo(self) -> Demo:
        if self._demo is None:
            raise DemoError("The demo is not running; call start() first.")
        return self._demo

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine on the demo's loop (where the emulators live) and wait for it."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
