"""What `scripts/test` does on a machine that lacks what the suite needs: it sets it up when
it can, and otherwise stops before any test with the exact command to run. Real bash runs the
real script; what "cannot" means here is a PATH without apt-get or sudo (as for a user who is
not root), so nothing on this machine is installed or changed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, POSTGRES_ADMIN_DSN

PREREQS = Path(__file__).resolve().parents[2] / "scripts" / "_prereqs.sh"
# What the script itself calls: the shell's basics and the Python that has psycopg.
TOOLS = ("bash", "sh", "id", "ls", "seq", "sleep", "grep", "sed", "printf", "cat", "env")


def run(tmp_path: Path, call: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`call` after sourcing the script, with a PATH of only the basic tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in TOOLS:
        found = shutil.which(tool)
        if found and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    python = bin_dir / "python"
    if not python.exists():  # the venv's own python, which has psycopg
        python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        python.chmod(0o755)
    return subprocess.run(
        [
            str(shutil.which("bash")),
            "-c",
            f"set -euo pipefail; source {PREREQS}; {call}; echo satisfied",
        ],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_missing_chromium_that_cannot_be_installed_stops_with_the_command(
    tmp_path: Path,
) -> None:
    done = run(tmp_path, "need_chromium", W360_TEST_CHROMIUM=str(tmp_path / "no-chromium"))
    assert done.returncode == 2
    assert "satisfied" not in done.stdout
    assert f"the browser tests need {tmp_path / 'no-chromium'}" in done.stderr
    assert "apt-get update && apt-get install -y chromium" in done.stderr
    assert "W360_TEST_BROWSER=skip ./scripts/test" in done.stderr


def test_a_chromium_that_is_there_or_a_deliberate_skip_needs_nothing(tmp_path: Path) -> None:
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    assert run(tmp_path, "need_chromium", W360_TEST_CHROMIUM=str(browser)).stdout == "satisfied\n"
    skipped = run(
        tmp_path, "need_chromium", W360_TEST_CHROMIUM="/nowhere", W360_TEST_BROWSER="skip"
    )
    assert skipped.stdout == "satisfied\n"


@pytest.mark.skipif(
    "postgresql" not in BACKENDS,
    reason="W360_TEST_BACKENDS=sqlite: this run was told no PostgreSQL is there to find",
)
def test_a_postgresql_that_answers_needs_nothing(tmp_path: Path) -> None:
    done = run(tmp_path, f"need_postgres {POSTGRES_ADMIN_DSN}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "satisfied\n"
    assert done.stderr == ""


def test_a_postgresql_elsewhere_that_does_not_answer_stops_with_the_commands(
    tmp_path: Path,
) -> None:
    # Not this machine's: not ours to install or start, so the script says what to run.
    dsn = "postgresql://postgres@127.0.0.2:1/test"
    done = run(tmp_path, f"need_postgres {dsn}")
    assert done.returncode == 2
    assert "satisfied" not in done.stdout
    assert f"none answers at {dsn}" in done.stderr
    assert "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start" in (
        done.stderr
    )
    assert "apt-get update && apt-get install -y postgresql" in done.stderr
    assert "W360_TEST_BACKENDS=sqlite ./scripts/test" in done.stderr
