"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked:
every file it mounts exists, every command is one of our console scripts, the gateway's
config loads, each subgraph gets its own database, the Keycloak realms have the clients and
mappers the gateway relies on and are trusted by it, and no secret has a default."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import Settings as GatewaySettings
from subgraphs.common import demo
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


# -- Keycloak realms and secrets ---------------------------------------------------------------------

KEYCLOAK = ROOT / "infra" / "keycloak"
REALMS = {path.name: json.loads(path.read_text()) for path in sorted(KEYCLOAK.glob("*.json"))}
SECRETISH = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|_KEY$", re.IGNORECASE)


def _client(realm: dict[str, Any], client_id: str) -> dict[str, Any]:
    return next(c for c in realm["clients"] if c["clientId"] == client_id)


def _mappers(realm: dict[str, Any], scope: str) -> dict[str, dict[str, Any]]:
    found = next(s for s in realm["clientScopes"] if s["name"] == scope)
    return {
        m["protocolMapper"] + ":" + m["config"].get("claim.name", ""): m["config"] for m in found["protocolMappers"]
    }


def test_both_realm_designs_are_exported() -> None:
    assert set(REALMS) == {"dpp-realm.json", "dpp-tenant-acme-realm.json"}
    assert REALMS["dpp-realm.json"]["realm"] == "dpp"
    assert REALMS["dpp-tenant-acme-realm.json"]["realm"] == demo.tenant("acme").id  # one realm per tenant


@pytest.mark.parametrize("name", ["dpp-realm.json", "dpp-tenant-acme-realm.json"])
def test_spa_client_is_public_with_pkce(name: str) -> None:
    spa = _client(REALMS[name], "dpp-spa")
    assert spa["publicClient"] is True and spa["standardFlowEnabled"] is True
    assert spa["attributes"]["pkce.code.challenge.method"] == "S256"
    assert spa["implicitFlowEnabled"] is False and spa["directAccessGrantsEnabled"] is False
    assert "secret" not in spa
    assert "dpp-claims" in spa["defaultClientScopes"]


@pytest.mark.parametrize("name", ["dpp-realm.json", "dpp-tenant-acme-realm.json"])
def test_partner_client_is_confidential_with_client_credentials(name: str) -> None:
    partner = _client(REALMS[name], "dpp-partner")
    assert partner["publicClient"] is False and partner["clientAuthenticatorType"] == "client-secret"
    assert partner["serviceAccountsEnabled"] is True  # the client-credentials grant
    assert partner["standardFlowEnabled"] is False and partner["directAccessGrantsEnabled"] is False
    # the secret is an environment placeholder resolved at import, never a value in the file
    assert re.fullmatch(r"\$\{[A-Z_]+\}", partner["secret"])
    assert {"dpp-claims", "passport:restricted"} <= set(partner["defaultClientScopes"])


@pytest.mark.parametrize("name", ["dpp-realm.json", "dpp-tenant-acme-realm.json"])
def test_mappers_put_audience_roles_and_scopes_into_access_tokens(name: str) -> None:
    realm = REALMS[name]
    mappers = _mappers(realm, "dpp-claims")
    audience = mappers["oidc-audience-mapper:"]
    assert audience["included.custom.audience"] == "dpp" and audience["access.token.claim"] == "true"
    roles = mappers["oidc-usermodel-realm-role-mapper:realm_access.roles"]
    assert roles["access.token.claim"] == "true" and roles["multivalued"] == "true"
    scopes = {s["name"]: s for s in realm["clientScopes"]}
    for scope in ("catalog:write", "templates:write", "passport:write", "passport:restricted", "identity:admin"):
        assert scopes[scope]["attributes"]["include.in.token.scope"] == "true"  # lands in the `scope` claim
    assert {"Admin", "Manager", "Viewer"} <= {r["name"] for r in realm["roles"]["realm"]}
    default = next(r for r in realm["roles"]["realm"] if r["name"] == realm["defaultRole"]["name"])
    assert "Viewer" in default["composites"]["realm"]  # the default role


def test_the_single_realm_puts_the_tenant_into_a_claim() -> None:
    realm = REALMS["dpp-realm.json"]
    tenant = _mappers(realm, "dpp-claims")["oidc-usermodel-attribute-mapper:tid"]
    assert tenant["user.attribute"] == "tid" and tenant["access.token.claim"] == "true"
    partner_account = next(u for u in realm["users"] if u.get("serviceAccountClientId") == "dpp-partner")
    assert partner_account["attributes"]["tid"] == [demo.tenant("acme").id]


def test_gateway_and_subgraphs_trust_every_realm_and_identity() -> None:
    settings = GatewaySettings.load(_gateway_config(), environ={})
    by_issuer = {i.issuer: i for i in settings.auth_issuers}
    subgraph_env = COMPOSE["x-subgraph"]["environment"]
    trusted_by_subgraphs = set(subgraph_env["OIDC_ISSUERS"].split(","))
    identity = subgraph_env["ISSUER_URL"]
    assert identity in by_issuer and identity in trusted_by_subgraphs
    assert settings.auth_context_url == f"{identity}/auth/context"
    for realm in REALMS.values():
        issuer = f"http://keycloak:8080/realms/{realm['realm']}"
        assert issuer in by_issuer and issuer in trusted_by_subgraphs
        assert by_issuer[issuer].roles_claim == "realm_access.roles"
    per_tenant = by_issuer[f"http://keycloak:8080/realms/{demo.tenant('acme').id}"]
    assert per_tenant.tenant_of({"tid": "ignored"}) == demo.tenant("acme").id
    assert by_issuer["http://keycloak:8080/realms/dpp"].tenant_of({"tid": "T1"}) == "T1"
    assert settings.redis_url == "redis://redis:6379/0"
    assert "x-tenant-id" in settings.forward_headers


def test_no_secret_has_a_default_in_docker_compose() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for name, operator in re.findall(r"\$\{(\w+)(:?[-?+]?)", text):
        if SECRETISH.search(name):
            assert operator == ":?", f"{name} must be required (${{{name}:?...}}), not defaulted"
    assert "JWT_SECRET" not in text

    def environments() -> list[dict[str, Any]]:
        found = [COMPOSE["x-subgraph"]["environment"]]
        found += [s["environment"] for s in COMPOSE["services"].values() if isinstance(s.get("environment"), dict)]
        return found

    for environment in environments():
        for name, value in environment.items():
            if SECRETISH.search(name):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), f"{name} is not a required variable"
    # every placeholder of the realm files is given to Keycloak, and required
    keycloak_env = COMPOSE["services"]["keycloak"]["environment"]
    for realm_text in (path.read_text() for path in KEYCLOAK.glob("*.json")):
        for placeholder in re.findall(r"\$\{(\w+)\}", realm_text):
            assert str(keycloak_env[placeholder]).startswith(f"${{{placeholder}:?")


def _gateway_config() -> Path:
    command = COMPOSE["services"]["gateway"]["command"]
    return ROOT / command[command.index("--config") + 1]


def _pins(lock: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", lock.read_text(), re.MULTILINE))


def test_the_image_lock_is_the_runtime_part_of_the_development_lock() -> None:
    """The Dockerfile installs requirements-runtime.lock: the same versions as requirements.lock
    (what CI tests), every runtime dependency of pyproject.toml, and none of the dev extra."""
    full, runtime = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-runtime.lock")
    assert {name: version for name, version in runtime.items() if full.get(name) != version} == {}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(specs: list[str]) -> set[str]:
        return {re.split(r"[<>=\[ ;]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in specs}

    pinned = {name.lower().replace("_", "-") for name in runtime}
    assert names(project["dependencies"]) <= pinned
    assert not (names(project["optional-dependencies"]["dev"]) - names(project["dependencies"])) & pinned
    assert "COPY requirements-runtime.lock" in (ROOT / "Dockerfile").read_text()
