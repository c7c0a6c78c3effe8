"""GET / -> {"count": N}: stored worklogs, for loadgen.py's persistence check on any backend.

usage: python bench/webhooks/count_server.py DATABASE_URL PORT
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import create_engine, text

engine = create_engine(sys.argv[1].replace("postgresql://", "postgresql+psycopg://", 1))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT COUNT(*) FROM worklogs")).scalar_one()
        body = json.dumps({"count": count}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
