"""Rotating W360_SECRET_KEY: the old key in W360_SECRET_KEY_PREVIOUS keeps every sealed
secret readable while `worklog360 rotate-secrets` re-seals them with the new key; afterwards
the new key alone opens them all, and the old one none."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from app.assembly import open_runtime
from app.crypto import SecretBox, SecretDecryptionError
from app.db import transaction
from app.secret_rotation import all_sealed_columns, rotate_secrets
from app.tenants.models import Tenant
from tests.support.app_process import app_environment
from tests.support.apps import TEST_SECRET_KEY, make_settings
from tests.support.world import jira_world

NEW_KEY = "the-new-secret-key-9876543210-zyxwvutsrqponm"
ROOT = Path(__file__).resolve().parents[2]


Where = tuple[str, str, object]


async def _sealed(database_url: str, tmp_path: Path) -> dict[Where, tuple[str, str]]:
    """Every sealed value, with what it is bound to, by (table, column, row key)."""
    found: dict[Where, tuple[str, str]] = {}
    settings = make_settings(database_url, tmp_path / "read")
    async with open_runtime(settings) as runtime, runtime.sessions() as session:
        for column in all_sealed_columns():
            model = column.model
            key = str(model.__mapper__.primary_key[0].key)
            for row in (await session.execute(select(model))).scalars():
                value = getattr(row, column.attribute)
                if value is not None:
                    where = (model.__tablename__, column.attribute, getattr(row, key))
                    found[where] = (value, column.context(row))
    return found


def _plain(box: SecretBox, sealed: dict[Where, tuple[str, str]]) -> dict[Where, str]:
    return {
        where: box.decrypt(token, context=context) for where, (token, context) in sealed.items()
    }


async def _a_site_with_every_secret(database_url: str, tmp_path: Path) -> None:
    async with jira_world(database_url, tmp_path / "world", forge=True) as world:
        await world.install()  # Connect: the site's shared secret
        await world.install_forge()  # Forge: the installation's app system token
        await world.connect_quickbooks()  # QuickBooks: access and refresh tokens
        await world.settle()


async def test_rotation_reseals_every_secret_and_both_keys_read_them_meanwhile(
    database_url: str, tmp_path: Path
) -> None:
    await _a_site_with_every_secret(database_url, tmp_path)
    before = await _sealed(database_url, tmp_path)
    tables = {(table, column) for table, column, _ in before}
    assert tables == {
        ("tenants", "shared_secret_encrypted"),
        ("forge_installations", "system_token_encrypted"),
        ("quickbooks_connections", "access_token_encrypted"),
        ("quickbooks_connections", "refresh_token_encrypted"),
    }
    plain = _plain(SecretBox(TEST_SECRET_KEY), before)
    # Mid-rotation, the app (new key, the old one as previous) reads everything.
    assert _plain(SecretBox(NEW_KEY, [TEST_SECRET_KEY]), before) == plain

    rotating = make_settings(
        database_url,
        tmp_path / "rotate",
        secret_key=NEW_KEY,
        secret_key_previous=f"some-older-key-long-enough-0123456789,{TEST_SECRET_KEY}",
    )
    async with open_runtime(rotating) as runtime:
        report = await rotate_secrets(runtime)
        again = await rotate_secrets(runtime)

    assert (report.resealed, report.current, report.unreadable) == (len(before), 0, [])
    assert (again.resealed, again.current, again.unreadable) == (0, len(before), [])
    after = await _sealed(database_url, tmp_path)
    assert after.keys() == before.keys()
    assert all(after[where][0] != before[where][0] for where in before)
    assert _plain(SecretBox(NEW_KEY), after) == plain
    old_only = SecretBox(TEST_SECRET_KEY)
    for token, context in after.values():
        with pytest.raises(SecretDecryptionError):
            old_only.decrypt(token, context=context)


async def test_the_command_names_what_no_key_opens_and_fails(
    database_url: str, tmp_path: Path
) -> None:
    """A value sealed with a key nobody configured is left as it is, and the operator is told
    which row and what to do (exit 1); everything else is re-sealed."""
    await _a_site_with_every_secret(database_url, tmp_path)
    stranger = SecretBox("a-key-this-deployment-never-had-0123456789")
    settings = make_settings(database_url, tmp_path / "read")
    async with open_runtime(settings) as runtime, transaction(runtime.sessions) as session:
        tenant = (await session.execute(select(Tenant))).scalars().one()
        tenant.shared_secret_encrypted = stranger.encrypt(
            "lost", context=f"tenant:{tenant.client_key}:shared_secret"
        )
        tenant_id = tenant.id
    env = app_environment(
        database_url,
        tmp_path / "cli",
        W360_ENV="development",
        W360_SECRET_KEY=NEW_KEY,
        W360_SECRET_KEY_PREVIOUS=TEST_SECRET_KEY,
    )

    ran = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli", "rotate-secrets"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert ran.returncode == 1, ran.stderr
    assert "Re-sealed 3 secrets with W360_SECRET_KEY; 0 were sealed with it already." in ran.stdout
    assert f"tenants.shared_secret_encrypted of row {tenant_id}" in ran.stderr
    assert "put the key that sealed them in W360_SECRET_KEY_PREVIOUS" in ran.stderr
    assert NEW_KEY not in ran.stdout + ran.stderr and TEST_SECRET_KEY not in ran.stderr
