"""`python -m sandbox.jira --host 127.0.0.1 --port 9000 [--base-url URL]`: serve the Jira
sandbox over HTTP with uvicorn. Webhooks are delivered as soon as they happen (the demo wants
that); everything else is driven through `/_sandbox/...`."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from sandbox.jira.emulator import JiraSandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.jira", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--base-url",
        action="append",
        dest="base_urls",
        help="a site's base URL (repeatable); default http://HOST:PORT/sites/acme",
    )
    parser.add_argument(
        "--queue-webhooks",
        action="store_true",
        help="keep webhooks in the outbox until POST /_sandbox/sites/{name}/webhooks/deliver",
    )
    args = parser.parse_args(argv)

    sandbox = JiraSandbox(deliver_webhooks_immediately=not args.queue_webhooks)
    for base_url in args.base_urls or [f"http://{args.host}:{args.port}/sites/acme"]:
        site = sandbox.add_site(base_url)
        print(f"Jira site {site.name!r} at {site.base_url}", file=sys.stderr)
    keys_url = f"http://{args.host}:{args.port}/_sandbox/install-keys"
    print(f"W360_CONNECT_INSTALL_KEYS_URL={keys_url}", file=sys.stderr)
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
