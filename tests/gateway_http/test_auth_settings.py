"""The authentication, rate-limit and Redis settings: YAML section, environment, errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import Settings, SettingsError
from tokenauth import IssuerConfig


def test_auth_defaults_trust_the_development_issuer_and_limit_nothing() -> None:
    settings = Settings.load(environ={})
    assert settings.auth_issuers == (IssuerConfig("http://127.0.0.1:4001", audiences=("dpp",)),)
    assert settings.auth_context_url is None
    assert (settings.auth_leeway, settings.auth_jwks_poll_interval, settings.auth_context_ttl) == (30, 300.0, 5.0)
    assert settings.rate_limit_window == 60.0
    assert [settings.rate_limit_for(c) for c in ("standard", "professional", "enterprise", None)] == [0, 0, 0, 0]
    assert settings.rate_limit_anonymous == 0
    assert settings.redis_url is None


def test_yaml_auth_and_rate_limit_sections(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        """
auth:
  issuers:
    - issuer: http://identity:4001/
    - issuer: http://keycloak:8080/realms/dpp
      audiences: [dpp, account]
      algorithms: [RS256]
      jwks_uri: http://keycloak:8080/realms/dpp/protocol/openid-connect/certs
      roles_claim: realm_access.roles
    - issuer: http://keycloak:8080/realms/acme
      tenant_claim: null
      tenant_from_issuer: '^http://keycloak:8080/realms/(?P<tenant>[^/]+)$'
  leeway: 10
  jwks_poll_interval: 60
  context_url: http://identity:4001/auth/context
  context_ttl: 2.5
rate_limits:
  window: 30
  standard: 100
  professional: 500
  enterprise: 2000
  anonymous: 20
redis_url: redis://redis:6379/0
"""
    )
    settings = Settings.load(config, environ={})
    identity, realm, per_tenant = settings.auth_issuers
    assert identity == IssuerConfig("http://identity:4001", audiences=("dpp",))
    assert realm.audiences == ("dpp", "account") and realm.algorithms == ("RS256",)
    assert realm.jwks_uri == "http://keycloak:8080/realms/dpp/protocol/openid-connect/certs"
    assert realm.roles_claim == "realm_access.roles" and realm.tenant_claim == "tid"
    assert per_tenant.tenant_claim is None
    assert per_tenant.tenant_of({}) == "acme"
    assert (settings.auth_leeway, settings.auth_jwks_poll_interval) == (10, 60.0)
    assert (settings.auth_context_url, settings.auth_context_ttl) == ("http://identity:4001/auth/context", 2.5)
    assert settings.rate_limit_window == 30.0
    assert [settings.rate_limit_for(c) for c in ("standard", "professional", "enterprise", "unknown")] == [
        100,
        500,
        2000,
        100,
    ]
    assert settings.rate_limit_anonymous == 20
    assert settings.redis_url == "redis://redis:6379/0"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("auth: {issuers: [{issuer: http://file}], leeway: 5}\nrate_limits: {standard: 7}\n")
    settings = Settings.load(
        config,
        environ={
            "GATEWAY_OIDC_ISSUERS": "http://a:1, http://b:2/",
            "GATEWAY_OIDC_AUDIENCE": "dpp,partners",
            "GATEWAY_OIDC_ALGORITHMS": "ES256",
            "GATEWAY_OIDC_TENANT_CLAIM": "-",
            "GATEWAY_OIDC_ROLES_CLAIM": "realm_access.roles",
            "GATEWAY_OIDC_LEEWAY": "0",
            "GATEWAY_OIDC_JWKS_POLL_INTERVAL": "0",
            "GATEWAY_AUTH_CONTEXT_URL": "http://identity:4001",
            "GATEWAY_AUTH_CONTEXT_TTL": "0",
            "GATEWAY_RATE_LIMIT_WINDOW": "1.5",
            "GATEWAY_RATE_LIMIT_PROFESSIONAL": "9",
            "GATEWAY_RATE_LIMIT_ANONYMOUS": "3",
            "GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/2",
        },
    )
    assert [i.issuer for i in settings.auth_issuers] == ["http://a:1", "http://b:2"]
    assert all(i.audiences == ("dpp", "partners") and i.algorithms == ("ES256",) for i in settings.auth_issuers)
    assert all(i.tenant_claim is None and i.roles_claim == "realm_access.roles" for i in settings.auth_issuers)
    assert (settings.auth_leeway, settings.auth_jwks_poll_interval, settings.auth_context_ttl) == (0, 0.0, 0.0)
    assert settings.auth_context_url == "http://identity:4001"
    assert settings.rate_limit_window == 1.5
    assert (settings.rate_limit_standard, settings.rate_limit_professional, settings.rate_limit_anonymous) == (7, 9, 3)
    assert settings.redis_url == "redis://127.0.0.1:6379/2"


def test_audience_alone_applies_to_the_development_issuer() -> None:
    settings = Settings.load(environ={"GATEWAY_OIDC_AUDIENCE": "other"})
    assert settings.auth_issuers == (IssuerConfig("http://127.0.0.1:4001", audiences=("other",)),)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("auth: {issuers: []}", "auth.issuers: at least one"),
        ("auth: {issuers: http://x}", "auth.issuers: expected a list"),
        ("auth: {issuers: [{audiences: [dpp]}]}", "auth.issuers[0].issuer: required"),
        ("auth: {issuers: [{issuer: http://x, audience: dpp}]}", "auth.issuers[0]: unknown key(s) ['audience']"),
        ("auth: {issuers: [{issuer: http://x, audiences: []}]}", "auth.issuers[0]: issuer http://x: at least one"),
        ("auth: {issuers: [{issuer: http://x, algorithms: [HS256]}]}", "auth.issuers[0]: issuer http://x: algorithms"),
        ("auth: {issuers: [{issuer: http://x, tenant_from_issuer: 'x('}]}", "auth.issuers[0].tenant_from_issuer"),
        ("auth: {issuers: [{issuer: http://x, roles_claim: 3}]}", "auth.issuers[0].roles_claim: expected a string"),
        ("auth: {leeway: -1}", "auth.leeway: must not be negative"),
        ("auth: {leeway: soon}", "auth.leeway: cannot use 'soon'"),
        ("auth: {jwks_poll_interval: -5}", "auth.jwks_poll_interval: must be 0"),
        ("auth: {context_url: identity:4001}", "auth.context_url: 'identity:4001' is not an http(s) URL"),
        ("auth: {context_ttl: -1}", "auth.context_ttl: must not be negative"),
        ("auth: {contexturl: http://x}", "auth: unknown key 'contexturl'"),
        ("auth: [1]", "auth must be a mapping"),
        ("rate_limits: {window: 0}", "rate_limits.window: must be positive"),
        ("rate_limits: {standard: -1}", "rate_limits.standard: must be 0 (no limit) or positive"),
        ("rate_limits: {enterprise: 1.5}", "rate_limits.enterprise: cannot use 1.5"),
        ("rate_limits: {gold: 1}", "rate_limits: unknown key 'gold'"),
        ("redis_url: localhost:6379", "redis_url: 'localhost:6379' is not a redis://"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, yaml_text: str, message: str) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml_text + "\n")
    with pytest.raises(SettingsError) as caught:
        Settings.load(config, environ={})
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GATEWAY_OIDC_ALGORITHMS": "none"}, "GATEWAY_OIDC_*: issuer http://127.0.0.1:4001: algorithms"),
        ({"GATEWAY_OIDC_TENANT_FROM_ISSUER": "no-group"}, "GATEWAY_OIDC_*: tenant_from_issuer needs"),
        ({"GATEWAY_RATE_LIMIT_ANONYMOUS": "many"}, "rate_limits.anonymous: cannot use 'many'"),
        ({"GATEWAY_AUTH_CONTEXT_TTL": "-2"}, "auth.context_ttl: must not be negative"),
    ],
)
def test_bad_environment_values_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.load(environ=environ)
    assert message in str(caught.value)
