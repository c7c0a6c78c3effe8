"""`worklog360` command line: serve, worker, migrate, demo."""

from __future__ import annotations

import argparse
import logging
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
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    import asyncio

    from app import worker

    settings = load_settings()
    worker.require_queue(settings)
    worker.migrate_first(settings)
    asyncio.run(worker.run_worker(settings, concurrency=args.concurrency))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from app import migrations

    settings = load_settings()
    migrations.upgrade(settings.database_url, args.revision)
    print(f"Database is at revision {args.revision}.")
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
        )
    )


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
    worker.set_defaults(handler=_worker)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(handler=_migrate)
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
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        code: int = args.handler(args)
    except SettingsError as exc:
        print(f"worklog360: configuration error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
