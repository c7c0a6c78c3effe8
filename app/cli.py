"""`worklog360` command line: serve, worker, migrate, rotate-secrets, demo, forge-app."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.settings import SettingsError, load_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app import migrations
    from app.main import create_app

    settings = load_settings()
    if settings.auto_migrate:
        migrations.upgrade(settings.database_url)
    if args.workers > 1:
        metrics_multiprocess_dir()
    # Several workers need the app as an import string; each builds it from the environment.
    target = "app.main:create_app" if args.workers > 1 else create_app(settings)
    uvicorn.run(
        target,
        factory=args.workers > 1,
        workers=args.workers,
        host=args.host,
        port=args.port,
        proxy_headers=True,
        log_level=settings.log_level.lower(),
        # Our own JSON request line replaces uvicorn's (which logs the query: `?jwt=…`).
        access_log=False,
        log_config=None,
    )
    return 0


def metrics_multiprocess_dir() -> None:
    """prometheus_client's multiprocess mode for `--workers N`: each process writes its
    counters to files in one fresh folder, which /metrics sums (any process answers)."""
    import os
    import tempfile

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="w360-metrics-")


def _worker(args: argparse.Namespace) -> int:
    import asyncio

    from app import worker

    settings = load_settings()
    worker.require_queue(settings)
    worker.migrate_first(settings)
    if args.metrics_port is not None:
        from app.observability.metrics import serve_metrics

        serve_metrics(args.metrics_port, args.metrics_host)
    asyncio.run(worker.run_worker(settings, concurrency=args.concurrency))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from app import migrations

    settings = load_settings()
    migrations.upgrade(settings.database_url, args.revision)
    print(f"Database is at revision {args.revision}.")
    return 0


def _rotate_secrets(args: argparse.Namespace) -> int:
    import asyncio

    from app import secret_rotation
    from app.assembly import open_runtime

    settings = load_settings()
    settings.check()

    async def rotate() -> secret_rotation.RotationReport:
        async with open_runtime(settings) as runtime:
            return await secret_rotation.rotate_secrets(runtime)

    report = asyncio.run(rotate())
    print(
        f"Re-sealed {report.resealed} secrets with W360_SECRET_KEY; {report.current} were "
        "sealed with it already."
    )
    if report.unreadable:
        print(
            f"{len(report.unreadable)} secrets open with none of the keys given (left as they "
            "are): put the key that sealed them in W360_SECRET_KEY_PREVIOUS and run this "
            "again. " + "; ".join(report.unreadable[:20]),
            file=sys.stderr,
        )
        return 1
    if settings.previous_secret_keys:
        print("Nothing is sealed with a previous key now: W360_SECRET_KEY_PREVIOUS can go.")
    return 0


def _demo(args: argparse.Namespace) -> int:
    # Imported here: the demo is the one command that needs the emulators in sandbox/.
    from app import demo

    return demo.main(
        demo.DemoOptions(
            host=args.host,
            app_port=args.port,
            jira_port=args.jira_port,
            qbo_port=args.qbo_port,
            data_dir=args.data_dir,
            worklogs=args.worklogs,
            quiet=not args.verbose,
            forge=args.forge or args.with_connect,
            with_connect=args.with_connect,
        )
    )


def _forge_app(args: argparse.Namespace) -> int:
    from app import forge_app

    try:
        manifest = forge_app.write_app(args.out, args.remote_url, args.app_id)
    except forge_app.ForgeAppError as exc:
        print(f"worklog360 forge-app: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote the Forge app to {args.out}: {manifest.name} and the Custom UI in static/.")
    print(f"Next: cd {args.out} && forge deploy && forge install (see the README).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="worklog360", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web app (migrates first by default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="processes (PostgreSQL, or SQLite in WAL mode)"
    )
    serve.set_defaults(handler=_serve)
    worker = commands.add_parser(
        "worker", help="run queued background jobs (W360_JOBS=worker, PostgreSQL)"
    )
    worker.add_argument("--concurrency", type=int, default=4, help="jobs run at once")
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve this worker's Prometheus metrics (job runs, outbound calls) on this port",
    )
    worker.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address for --metrics-port (no token on it: keep it on a private network)",
    )
    worker.set_defaults(handler=_worker)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(handler=_migrate)
    rotate = commands.add_parser(
        "rotate-secrets",
        help="re-seal every secret at rest with W360_SECRET_KEY (the old key in "
        "W360_SECRET_KEY_PREVIOUS); safe while the app runs",
    )
    rotate.set_defaults(handler=_rotate_secrets)
    demo = commands.add_parser(
        "demo",
        help="run the app with the Jira and QuickBooks emulators and demo data; prints one URL",
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000, help="the app's port")
    demo.add_argument("--jira-port", type=int, default=9000)
    demo.add_argument("--qbo-port", type=int, default=9100)
    demo.add_argument(
        "--data-dir", type=Path, default=None, help="SQLite and files (default: a temp folder)"
    )
    demo.add_argument("--worklogs", type=int, default=2000, help="how many worklogs to seed")
    demo.add_argument("--verbose", action="store_true", help="log every request")
    demo.add_argument(
        "--forge",
        action="store_true",
        help="install the Forge app (its Custom UI inside the emulated Jira) instead of the "
        "Connect app, as a site installs Worklog360 today",
    )
    demo.add_argument(
        "--with-connect",
        action="store_true",
        help="with --forge: install the Connect app on the same site too (one tenant, two doors)",
    )
    demo.set_defaults(handler=_demo)
    forge = commands.add_parser(
        "forge-app",
        help="write the Forge app folder (manifest.yml and the built Custom UI) for forge deploy",
    )
    forge.add_argument("--out", type=Path, required=True, help="the folder to write")
    forge.add_argument(
        "--remote-url", required=True, help="this service's https URL (W360_BASE_URL)"
    )
    forge.add_argument(
        "--app-id", required=True, help="ari:cloud:ecosystem::app/<uuid> (from forge register)"
    )
    forge.set_defaults(handler=_forge_app)
    return parser


def main(argv: list[str] | None = None) -> int:
    from app.observability.logs import configure_logging

    args = build_parser().parse_args(argv)
    configure_logging(os.environ.get("W360_LOG_LEVEL", "INFO"))
    try:
        code: int = args.handler(args)
    except SettingsError as exc:
        print(f"worklog360: configuration error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
