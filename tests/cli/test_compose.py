"""docker-compose.yml must only name `mentorpay` commands and options the CLI really has."""

from __future__ import annotations

from pathlib import Path

import typer.main
import yaml

from mentorpay.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _commands_in_compose() -> list[list[str]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return [
        service["command"]
        for service in compose["services"].values()
        if isinstance(service.get("command"), list) and service["command"][0] == "mentorpay"
    ]


def test_compose_names_at_least_the_sandbox() -> None:
    assert any(command[1] == "sandbox" for command in _commands_in_compose())


def test_every_compose_command_parses_in_the_cli() -> None:
    group = typer.main.get_command(app)
    for command in _commands_in_compose():
        words = command[1:]
        sub = group
        while words and hasattr(sub, "commands"):  # a command group
            assert words[0] in sub.commands, f"{command}: no subcommand {words[0]!r}"
            sub = sub.commands[words[0]]
            words = words[1:]
        # Parsing without invoking proves every option and argument is accepted.
        sub.make_context(sub.name, list(words), resilient_parsing=False)


def test_compose_builds_one_image_checks_health_and_leaves_the_local_port_alone() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert sum("build" in service for service in services.values()) == 1
    apps = {name: s for name, s in services.items() if s.get("image") == "mentorpay:local"}
    assert set(apps) >= {"sandbox", "api", "worker"}
    for name in ("sandbox", "api", "worker"):
        assert "healthcheck" in apps[name], name
    published = [port for s in services.values() for port in s.get("ports", [])]
    assert not any(str(port).split(":")[-2:][0] == "5432" for port in published), published
