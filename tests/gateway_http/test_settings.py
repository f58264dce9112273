"""Settings from defaults, a YAML file, the environment and flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.load(environ={})
    assert settings == Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 4000
    assert settings.supergraph is None
    assert settings.forward_headers == ("authorization", "x-tenant-id", "x-request-id")
    assert settings.development is False
    assert settings.max_body_bytes == 1_048_576
    assert settings.poll_interval == 2.0
    assert settings.timeout_for("anything") == 30.0


def test_yaml_file(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        """
supergraph: supergraph.graphql
host: 0.0.0.0
port: 8080
development: true
max_body_bytes: 4096
poll_interval: 0.5
default_timeout: 10
max_connections: 8
forward_headers: [Authorization, X-Tenant]
subgraphs:
  catalog:
    url: http://catalog:8002/graphql
    timeout: 2.5
  identity:
    url: http://identity:8001/graphql
"""
    )
    settings = Settings.load(config, environ={})
    assert settings.supergraph == tmp_path / "supergraph.graphql"
    assert settings.host == "0.0.0.0"
    assert settings.port == 8080
    assert settings.development is True
    assert settings.max_body_bytes == 4096
    assert settings.poll_interval == 0.5
    assert settings.max_connections == 8
    assert settings.forward_headers == ("authorization", "x-tenant")
    assert settings.subgraph_urls == {
        "catalog": "http://catalog:8002/graphql",
        "identity": "http://identity:8001/graphql",
    }
    assert settings.timeout_for("catalog") == 2.5
    assert settings.timeout_for("identity") == 10.0


def test_precedence_yaml_then_env_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "port: 5000\nhost: 10.0.0.1\nsubgraphs:\n  catalog: {url: http://a/graphql}\n  passport: {url: http://p/graphql}\n"
    )
    environ = {
        "GATEWAY_PORT": "6000",
        "GATEWAY_SUPERGRAPH": "/env/supergraph.graphql",
        "GATEWAY_DEVELOPMENT": "yes",
        "GATEWAY_FORWARD_HEADERS": "authorization, x-request-id, x-tenant",
        "GATEWAY_SUBGRAPH_CATALOG_URL": "http://b/graphql",
        "GATEWAY_SUBGRAPH_PASSPORT_TIMEOUT": "3",
        "UNRELATED": "x",
    }
    settings = Settings.load(config, environ=environ, port=7000, host=None, supergraph="/flag.graphql")
    assert settings.port == 7000  # flag beats env beats file
    assert settings.host == "10.0.0.1"  # a None flag does not override
    assert settings.supergraph == Path("/flag.graphql")
    assert settings.development is True
    assert settings.forward_headers == ("authorization", "x-request-id", "x-tenant")
    # Per-subgraph entries merge across layers.
    assert settings.subgraph_urls == {"catalog": "http://b/graphql", "passport": "http://p/graphql"}
    assert settings.timeout_for("passport") == 3.0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"port": "http"}, "port: cannot use 'http'"),
        ({"port": 70000}, "port: 70000 is not a TCP port"),
        ({"development": "maybe"}, "development: cannot use 'maybe'"),
        ({"max_body_bytes": 0}, "max_body_bytes: must be positive"),
        ({"poll_interval": -1}, "poll_interval: must be 0 (off) or positive"),
        ({"subgraph_timeouts": {"a": 0}}, "timeouts must be positive"),
        ({"log_level": "loud"}, "log_level: must be one of critical, error, warning, info, debug, trace"),
        ({"colour": "blue"}, "unknown setting(s): colour"),
    ],
)
def test_invalid_values_are_named(values: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as excinfo:
        Settings.from_mapping(values)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("- a\n- b\n", "expected a mapping at the top level"),
        ("port: [\n", "invalid YAML"),
        ("subgraphs: [a]\n", "subgraphs must be a mapping"),
        ("subgraphs:\n  a: {url: x, retries: 3}\n", "subgraphs.a: unknown key(s) ['retries']"),
    ],
)
def test_invalid_files_are_named(tmp_path: Path, text: str, message_part: str) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(text)
    with pytest.raises(SettingsError) as excinfo:
        Settings.load(config, environ={})
    assert message_part in str(excinfo.value)
    assert str(config) in str(excinfo.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="No such file"):
        Settings.load(tmp_path / "absent.yaml", environ={})
