"""What a domain tells `worklog360 rotate-secrets` of the secrets it keeps sealed at rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.db import Base


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A column of `app.crypto` ciphertexts, and the associated data of a row's value."""

    model: type[Base]
    attribute: str
    context: Callable[[Any], str]
