"""`worklog360 rotate-secrets`: re-seal every secret at rest with the current W360_SECRET_KEY.

The rotation, as docs/deploy.md tells it: set the new key as W360_SECRET_KEY and the old one
in W360_SECRET_KEY_PREVIOUS on every process (they then open values sealed with either and
seal new ones with the new key), run this command once, and drop the old key when it reports
nothing left to re-seal. It may run while the app serves: each row is re-sealed under a row
lock, in pages, so a token refresh meanwhile is neither lost nor overwritten.

What is sealed, and what each value is bound to (app.crypto's associated data), is said by
each domain's own `sealed_columns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from app.crypto import SecretBox, SecretDecryptionError
from app.db import transaction
from app.quickbooks.tokens import sealed_columns as quickbooks_columns
from app.runtime import Runtime
from app.sealed import SealedColumn
from app.tenants.forge_tokens import sealed_columns as forge_columns
from app.tenants.service import sealed_columns as tenant_columns

PAGE = 200


@dataclass
class RotationReport:
    resealed: int = 0
    current: int = 0
    # "table.column of row N": values no configured key opens (left as they are).
    unreadable: list[str] = field(default_factory=list)


def all_sealed_columns() -> Sequence[SealedColumn]:
    return (*tenant_columns(), *forge_columns(), *quickbooks_columns())


async def rotate_secrets(runtime: Runtime) -> RotationReport:
    report = RotationReport()
    for column in all_sealed_columns():
        await _rotate_column(runtime, runtime.secrets, column, report)
    return report


async def _rotate_column(
    runtime: Runtime, box: SecretBox, column: SealedColumn, report: RotationReport
) -> None:
    model = column.model
    key = model.__mapper__.primary_key[0]
    key_name = str(key.key)
    attribute = getattr(model, column.attribute)
    last: object = None
    while True:
        async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
            statement = select(model).where(attribute.is_not(None)).order_by(key).limit(PAGE)
            if last is not None:
                statement = statement.where(key > last)
            rows = list((await session.execute(statement.with_for_update())).scalars())
            for row in rows:
                token = getattr(row, column.attribute)
                try:
                    fresh = box.reseal(token, context=column.context(row))
                except SecretDecryptionError:
                    report.unreadable.append(
                        f"{model.__tablename__}.{column.attribute} of row {getattr(row, key_name)}"
                    )
                    continue
                if fresh is None:
                    report.current += 1
                else:
                    setattr(row, column.attribute, fresh)
                    report.resealed += 1
        if len(rows) < PAGE:
            return
        last = getattr(rows[-1], key_name)
