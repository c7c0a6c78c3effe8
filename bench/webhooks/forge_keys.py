"""Forge's JWKS for the benchmark: a fresh RSA key, its public half served as Forge serves
it, and every fetch counted (the app must fetch it once per process, never per event).

usage: python bench/webhooks/forge_keys.py PORT PRIVATE_KEY_FILE
  GET /.well-known/jwks.json  the key set
  GET /count                  {"count": N}: how many times the key set was fetched
The private key is written (PEM) for forge_loadgen.py to sign with.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KID = "forge/invocation-token/bench-key-1"

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
Path(sys.argv[2]).write_bytes(
    key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
)


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


numbers = key.public_key().public_numbers()
JWKS = json.dumps(
    {
        "keys": [
            {
                "kty": "RSA",
                "kid": KID,
                "use": "sig",
                "alg": "RS256",
                "n": _b64(numbers.n),
                "e": _b64(numbers.e),
            }
        ]
    }
).encode()
fetches = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        global fetches
        if self.path == "/.well-known/jwks.json":
            with lock:
                fetches += 1
            body = JWKS
        elif self.path == "/count":
            body = json.dumps({"count": fetches}).encode()
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
