"""Secrets at rest: encrypted, bound to their owner, unreadable with another key."""

from __future__ import annotations

import pytest

from app.crypto import SecretBox, SecretDecryptionError


def test_round_trip_and_ciphertext_hides_the_secret() -> None:
    box = SecretBox("a" * 40)
    sealed = box.encrypt("my-shared-secret", context="tenant:abc:shared_secret")
    assert "my-shared-secret" not in sealed
    assert box.decrypt(sealed, context="tenant:abc:shared_secret") == "my-shared-secret"


def test_same_secret_encrypts_differently_each_time() -> None:
    box = SecretBox("a" * 40)
    assert box.encrypt("x", context="c") != box.encrypt("x", context="c")


def test_ciphertext_moved_to_another_tenant_does_not_decrypt() -> None:
    box = SecretBox("a" * 40)
    sealed = box.encrypt("secret", context="tenant:one:shared_secret")
    with pytest.raises(SecretDecryptionError):
        box.decrypt(sealed, context="tenant:two:shared_secret")


def test_another_key_cannot_decrypt() -> None:
    sealed = SecretBox("a" * 40).encrypt("secret", context="c")
    with pytest.raises(SecretDecryptionError, match="W360_SECRET_KEY"):
        SecretBox("b" * 40).decrypt(sealed, context="c")


@pytest.mark.parametrize("garbage", ["", "v1.", "v2.AAAA", "v1.!!!!", "v1.AAAA"])
def test_garbage_is_refused_cleanly(garbage: str) -> None:
    with pytest.raises(SecretDecryptionError):
        SecretBox("a" * 40).decrypt(garbage, context="c")
