"""Encryption of secrets at rest (Connect shared secrets, QuickBooks tokens).

AES-256-GCM with a key derived by HKDF from `W360_SECRET_KEY`. Each value is bound to what
it belongs to (associated data such as `tenant:<clientKey>:shared_secret`), so a ciphertext
copied into another tenant's row does not decrypt. Stored as `v1.<base64(nonce|ciphertext)>`.

Key rotation: `W360_SECRET_KEY` seals; the keys in `W360_SECRET_KEY_PREVIOUS` still open what
they sealed, so the app keeps working while `worklog360 rotate-secrets` re-seals every value
with the new key (AES-GCM's tag tells a wrong key at once: no key id is stored). Once it
reports nothing left under an old key, the old key can be dropped.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_NONCE_BYTES = 12


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted: wrong W360_SECRET_KEY or a tampered value."""


def _aead(secret_key: str) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"worklog360/secrets-at-rest",
        info=b"aes-256-gcm/v1",
    ).derive(secret_key.encode("utf-8"))
    return AESGCM(key)


class SecretBox:
    def __init__(self, secret_key: str, previous_keys: Sequence[str] = ()) -> None:
        self._aead = _aead(secret_key)
        self._previous = tuple(_aead(k) for k in previous_keys if k and k != secret_key)

    @property
    def rotating(self) -> bool:
        """Previous keys are configured: some values may still be sealed with one."""
        return bool(self._previous)

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str, *, context: str) -> str:
        return self._open(token, context)[0]

    def reseal(self, token: str, *, context: str) -> str | None:
        """The value sealed with the current key, or None when it is sealed with it already.
        Raises SecretDecryptionError when no configured key opens it."""
        plain, current = self._open(token, context)
        return None if current else self.encrypt(plain, context=context)

    def _open(self, token: str, context: str) -> tuple[str, bool]:
        version, _, body = token.partition(".")
        if version != _VERSION or not body:
            raise SecretDecryptionError("Unknown secret format.")
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
        except ValueError as exc:
            raise SecretDecryptionError("A stored secret is not valid base64.") from exc
        nonce, sealed, aad = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("utf-8")
        for index, aead in enumerate((self._aead, *self._previous)):
            try:
                return aead.decrypt(nonce, sealed, aad).decode("utf-8"), index == 0
            except (InvalidTag, ValueError):
                continue
        raise SecretDecryptionError(
            "A stored secret could not be decrypted; was W360_SECRET_KEY changed? Put the "
            "key it was sealed with in W360_SECRET_KEY_PREVIOUS."
        )
