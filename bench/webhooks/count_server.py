"""GET / -> {"count": N}: stored rows, for loadgen.py's persistence check on any backend.

usage: python bench/webhooks/count_server.py DATABASE_URL PORT [TABLE]
TABLE: worklogs (what a Connect webhook stores, the default) or worklog_refreshes (what a
Forge worklog event stores: the worklog to read from Jira).
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import create_engine, text

engine = create_engine(sys.argv[1].replace("postgresql://", "postgresql+psycopg://", 1))
TABLES = {"worklogs", "worklog_refreshes"}
table = sys.argv[3] if len(sys.argv) > 3 else "worklogs"
if table not in TABLES:
    raise SystemExit(f"TABLE is one of {sorted(TABLES)}")
COUNT = text(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - one of TABLES


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        with engine.connect() as conn:
            count = conn.execute(COUNT).scalar_one()
        body = json.dumps({"count": count}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
