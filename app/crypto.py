"""Encryption of secrets at rest (Connect shared secrets, QuickBooks tokens).

AES-256-GCM with a key derived by HKDF from `W360_SECRET_KEY`. Each value is bound to what
it belongs to (associated data such as `tenant:<clientKey>:shared_secret`), so a ciphertext
copied into another tenant's row does not decrypt. Stored as `v1.<base64(nonce|ciphertext)>`;
the version prefix leaves room for key rotation.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_NONCE_BYTES = 12


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted: wrong W360_SECRET_KEY or a tampered value."""


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"worklog360/secrets-at-rest",
            info=b"aes-256-gcm/v1",
        ).derive(secret_key.encode("utf-8"))
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str, *, context: str) -> str:
        version, _, body = token.partition(".")
        if version != _VERSION or not body:
            raise SecretDecryptionError("Unknown secret format.")
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
            plain = self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("utf-8")
            )
        except (InvalidTag, ValueError) as exc:
            raise SecretDecryptionError(
                "A stored secret could not be decrypted; was W360_SECRET_KEY changed?"
            ) from exc
        return plain.decode("utf-8")
