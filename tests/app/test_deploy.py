"""The production image and compose file, proven where Docker is absent: the test does what
the Dockerfile does (a virtualenv from requirements.lock, every file checked against its
hash; the final stage's files, without the demo) and then runs compose.yaml's commands, in
its order, with its environment, against the machine's PostgreSQL instead of the `postgres`
service. The app must answer /readyz (database, migrations, a worker's heartbeat)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.app.quickbooks.processes.harness import free_port, wait_until
from tests.conftest import _create_postgres_database, _drop_postgres_database

ROOT = Path(__file__).resolve().parents[2]
SECRET = "compose-secret-key-0123456789-abcdefghijklmnop"
BASE_URL = "https://worklog360.example.com"


def _final_stage(dockerfile: str) -> list[str]:
    """The last stage's instructions, one per line (continuations joined, comments out)."""
    joined = [
        line.strip()
        for line in dockerfile.replace("\\\n", " ").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    last_from = max(i for i, line in enumerate(joined) if line.startswith("FROM "))
    return joined[last_from:]


def test_the_image_is_two_stages_installs_only_the_lock_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2
    assert "pip install --require-hashes --no-deps -r /tmp/requirements.lock" in dockerfile
    final = _final_stage(dockerfile)
    copied = [
        line.split()[1] for line in final if line.startswith("COPY ") and "--from" not in line
    ]
    assert not {"sandbox", "tests", "bench", "frontend", "."} & set(copied)
    assert "RUN rm -f app/demo.py" in " ".join(final)
    user = [line.split()[1] for line in final if line.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["python", "-m", "app.cli"]' in final


def test_the_lock_pins_every_dependency_as_pyproject_does_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", lock, flags=re.MULTILINE))
    normal = {name.lower().replace("_", "-"): v for name, v in pinned.items()}
    for requirement in project["dependencies"]:
        name, version = re.sub(r"\[.*\]", "", requirement).split("==")
        assert normal.get(name.lower().replace("_", "-")) == version, requirement
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n\n", 1)[-1].strip())
    for entry in entries:
        if entry.startswith("#"):
            continue
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The final stage's file tree and virtualenv, made as the Dockerfile makes them."""
    root = tmp_path_factory.mktemp("image")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "--no-deps",
            "-r",
            str(ROOT / "requirements.lock"),
        ],
        check=True,
        timeout=600,
    )
    srv = root / "srv"
    srv.mkdir()
    for line in _final_stage((ROOT / "Dockerfile").read_text()):
        if line.startswith("COPY ") and "--from" not in line:
            source = line.split()[1]
            if (ROOT / source).is_dir():
                shutil.copytree(
                    ROOT / source, srv / source, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy(ROOT / source, srv / source)
        elif line.startswith("RUN rm -f "):
            for path in shlex.split(line.removeprefix("RUN rm -f ").split("&&")[0]):
                (srv / path).unlink(missing_ok=True)
    assert not (srv / "sandbox").exists() and not (srv / "app" / "demo.py").exists()
    return root


def _substitute(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}`."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise AssertionError(f"compose needs {name}: {arg}")
        return arg

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _order(services: dict[str, Any]) -> list[str]:
    done: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        for needed in services[name].get("depends_on", {}):
            visit(needed)
        done.append(name)

    for name in services:
        visit(name)
    return done


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty database: compose's own `migrate` service must migrate it."""
    name, url = _create_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(name)


def test_compose_commands_in_order_bring_up_a_ready_app_and_worker(
    image: Path, postgres_url: str, tmp_path: Path
) -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services: dict[str, Any] = compose["services"]
    order = _order(services)
    assert order == ["postgres", "migrate", "app", "worker"]
    outer = {"W360_BASE_URL": BASE_URL, "W360_SECRET_KEY": SECRET}
    port = free_port()
    python = str(image / "venv" / "bin" / "python")
    running: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in order:
            service = services[name]
            if "image" in service and "build" not in service:
                continue  # postgres: the machine's own stands in for it
            env = {k: _substitute(str(v), outer) for k, v in service["environment"].items()}
            assert env["W360_DATABASE_URL"].startswith("postgresql://worklog360:")
            env["W360_DATABASE_URL"] = postgres_url
            env["W360_DATA_DIR"] = str(tmp_path / name)
            command = [str(part) for part in service["command"]]
            if command[0] == "serve":
                command[command.index("--port") + 1] = str(port)
                command[command.index("--host") + 1] = "127.0.0.1"
            process = subprocess.Popen(
                [python, "-m", "app.cli", *command],
                cwd=image / "srv",
                env={"PATH": os.environ["PATH"], "PYTHONPATH": str(image / "srv"), **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            if service.get("restart") == "no":  # a one-off step the others wait for
                out, _ = process.communicate(timeout=120)
                assert process.returncode == 0, out.decode()[-3000:]
                assert "Database is at revision head." in out.decode()
            else:
                running[name] = process

        ready: dict[str, Any] = {}

        def answers_ready() -> bool:
            for name, process in running.items():
                if process.poll() is not None:
                    out = process.stdout.read().decode() if process.stdout else ""
                    raise AssertionError(f"{name} exited: {out[-3000:]}")
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            except httpx.TransportError:
                return False
            ready.update(response.json(), status=response.status_code)
            return response.status_code == 200

        wait_until(answers_ready, "the app to be ready with a worker beating", seconds=90)
        assert ready["status"] == 200
        descriptor = httpx.get(f"http://127.0.0.1:{port}/atlassian-connect.json", timeout=5)
        assert descriptor.json()["baseUrl"] == BASE_URL
        # Production: /metrics is closed without W360_METRICS_TOKEN.
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 403
    finally:
        for process in running.values():
            process.terminate()
        for process in running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
