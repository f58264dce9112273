"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked:
every file it mounts exists, every command is one of our console scripts, the gateway's
config loads, and each subgraph gets its own database."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

from gateway.settings import Settings as GatewaySettings
from subgraphs.common.settings import SERVICE_NAMES, SERVICE_PORTS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SCRIPTS = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"])


def test_mounted_files_exist() -> None:
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_commands_are_console_scripts_with_known_subgraphs() -> None:
    for name, service in COMPOSE["services"].items():
        command = service.get("command")
        if name in SERVICE_NAMES:
            assert command == ["dpp-subgraph", name]
        elif name == "gateway":
            assert command[0] in SCRIPTS


def test_gateway_config_reaches_every_subgraph_by_service_name() -> None:
    command = COMPOSE["services"]["gateway"]["command"]
    config = ROOT / command[command.index("--config") + 1]
    settings = GatewaySettings.load(config, environ={})
    assert settings.supergraph is not None and settings.supergraph.exists()
    assert dict(settings.subgraph_urls) == {
        name: f"http://{name}:{port}/graphql" for name, port in SERVICE_PORTS.items()
    }


def test_each_subgraph_has_its_own_database() -> None:
    urls = [COMPOSE["services"][name]["environment"]["DATABASE_URL"] for name in SERVICE_NAMES]
    assert [url.rsplit("/", 1)[1] for url in urls] == list(SERVICE_NAMES)
    init = (ROOT / "infra" / "postgres" / "init.sql").read_text()
    assert all(f"CREATE DATABASE {name};" in init for name in SERVICE_NAMES)
