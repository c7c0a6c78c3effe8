"""`python -m sandbox.quickbooks --host 127.0.0.1 --port 9100`: serve the QuickBooks sandbox
over HTTP with uvicorn, with one company, one registered app and webhooks delivered as soon
as they happen (the demo wants that); everything else is driven through `/_sandbox/...`."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from sandbox.quickbooks.emulator import QuickBooksSandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.quickbooks", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--company", default="Sandbox Company_US_1")
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default="sandbox-secret")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        dest="redirect_uris",
        help="a registered redirect URI (repeatable); default "
        "http://localhost:8000/quickbooks/callback",
    )
    parser.add_argument(
        "--webhook-url",
        help="where QBO webhooks go, e.g. http://localhost:8000/webhooks/quickbooks",
    )
    parser.add_argument("--verifier-token", default="sandbox-verifier-token")
    parser.add_argument("--cloudevents", action="store_true", help="send CloudEvents webhooks")
    parser.add_argument(
        "--queue-webhooks",
        action="store_true",
        help="keep webhooks in the outbox until POST /_sandbox/webhooks/deliver",
    )
    args = parser.parse_args(argv)

    sandbox = QuickBooksSandbox(deliver_webhooks_immediately=not args.queue_webhooks)
    company = sandbox.add_company(args.company)
    sandbox.register_client(
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=args.redirect_uris or ["http://localhost:8000/quickbooks/callback"],
        webhook_url=args.webhook_url,
        verifier_token=args.verifier_token,
        webhook_format="cloudevents" if args.cloudevents else "legacy",
    )
    base = f"http://{args.host}:{args.port}"
    print(f"QuickBooks company {company.name!r}, realm {company.realm_id}", file=sys.stderr)
    for name, path in (
        ("W360_QBO_AUTHORIZE_URL", "/connect/oauth2"),
        ("W360_QBO_TOKEN_URL", "/oauth2/v1/tokens/bearer"),
        ("W360_QBO_REVOKE_URL", "/v2/oauth2/tokens/revoke"),
        ("W360_QBO_API_BASE_URL", ""),
    ):
        print(f"{name}={base}{path}", file=sys.stderr)
    print(f"W360_QBO_CLIENT_ID={args.client_id}", file=sys.stderr)
    print(f"W360_QBO_CLIENT_SECRET={args.client_secret}", file=sys.stderr)
    print(f"W360_QBO_WEBHOOK_VERIFIER_TOKEN={args.verifier_token}", file=sys.stderr)
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
