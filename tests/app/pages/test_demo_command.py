"""`worklog360 demo` is a command of its own; its setup runs for real in tests/browser."""

from __future__ import annotations

from pathlib import Path

from app.cli import build_parser


def test_demo_takes_its_ports_data_folder_and_size() -> None:
    ports = ["--port", "8100", "--jira-port", "9200", "--qbo-port", "9300"]
    args = build_parser().parse_args(
        ["demo", *ports, "--data-dir", "demo-data", "--worklogs", "50"]
    )
    assert (args.port, args.jira_port, args.qbo_port) == (8100, 9200, 9300)
    assert args.data_dir == Path("demo-data")
    assert args.worklogs == 50
    assert args.handler.__name__ == "_demo"


def test_demo_defaults_to_the_documented_ports_and_2000_worklogs() -> None:
    args = build_parser().parse_args(["demo"])
    assert (args.host, args.port, args.jira_port, args.qbo_port) == (
        "127.0.0.1",
        8000,
        9000,
        9100,
    )
    assert args.worklogs == 2000
    assert args.data_dir is None


def test_demo_forge_and_with_connect_are_flags() -> None:
    assert build_parser().parse_args(["demo"]).forge is False
    forge = build_parser().parse_args(["demo", "--forge"])
    assert (forge.forge, forge.with_connect) == (True, False)
    both = build_parser().parse_args(["demo", "--forge", "--with-connect"])
    assert (both.forge, both.with_connect) == (True, True)
