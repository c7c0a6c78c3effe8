"""DESIGN.md's import rule ("Shape of the code"), checked over the real import graph with
import-linter's contracts in pyproject.toml: each layer imports only those below it (pages,
quickbooks, billing, worklogs, tenants, then the kernel, then the Connect and Forge
toolkits), billing imports no accounting provider, the toolkits and the product keep out of
each other's and the emulators' way."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_the_import_contracts_hold() -> None:
    # In a process of its own: import-linter configures logging with dictConfig, which
    # disables every logger that exists already (the app's request log among them).
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}, "
            "no_cache=True))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_every_module_of_the_app_has_its_layer() -> None:
    """A module missing from the layers is not checked at all: a new one must be placed."""
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    named = set()
    for layer in layers["layers"]:  # type: ignore[attr-defined]
        for part in str(layer).replace("|", ":").split(":"):
            named.add(part.strip())
    modules = {
        f"app.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "app").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert modules - named == set()


def test_billing_may_not_import_a_provider() -> None:
    (rule,) = [c for c in _contracts() if c["name"] == "Billing knows no accounting provider"]
    assert rule["source_modules"] == ["app.billing"]
    assert rule["forbidden_modules"] == ["app.quickbooks"]
