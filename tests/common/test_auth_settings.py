"""Auth settings from the environment, and what refuses to start outside development."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from subgraphs.cli import check_environment
from subgraphs.common.settings import Settings, startup_refusals

ROOT = Path(__file__).resolve().parents[2]


def test_oidc_settings_reach_the_subgraph_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OIDC_ISSUERS", "http://127.0.0.1:4001,https://kc.example/realms/acme")
    monkeypatch.setenv("OIDC_LEEWAY", "7")
    monkeypatch.setenv("AUTH_CONTEXT_TTL", "2.5")
    settings = Settings.from_env("catalog")
    assert [i.issuer for i in settings.verifier.issuers] == ["http://127.0.0.1:4001", "https://kc.example/realms/acme"]
    assert settings.verifier.leeway == 7 and settings.auth_context_ttl == 2.5


def test_the_dev_issuer_follows_identitys_address(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OIDC_ISSUERS", "ISSUER_URL", "IDENTITY_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_PORT", "5999")
    settings = Settings.from_env("passport")
    assert settings.issuer_url == settings.identity_url == "http://127.0.0.1:5999"
    assert [i.issuer for i in settings.verifier.issuers] == ["http://127.0.0.1:5999"]
    monkeypatch.setenv("ISSUER_URL", "https://auth.example/")
    assert Settings.from_env("passport").issuer_url == "https://auth.example"


def test_dpp_env_is_development_by_default_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DPP_ENV", raising=False)
    assert Settings.from_env("catalog").is_development
    monkeypatch.setenv("DPP_ENV", "Production")
    assert Settings.from_env("catalog").environment == "production"
    monkeypatch.setenv("DPP_ENV", "staging")
    with pytest.raises(ValueError, match="DPP_ENV must be one of development, production"):
        Settings.from_env("catalog")


def test_development_secrets_are_refused_outside_development() -> None:
    production = dataclasses.replace(Settings.from_env("identity"), environment="production")
    development = dataclasses.replace(production, environment="development")
    assert startup_refusals(production, {}) == []
    assert startup_refusals(development, {"JWT_SECRET": "x", "SEED": "1"}) == []
    refused = startup_refusals(production, {"JWT_SECRET": "x", "SEED": "1"})
    assert len(refused) == 2 and "HS256 tokens are gone" in refused[0] and "SEED=1" in refused[1]


def test_development_mode_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dpp"):
        check_environment(dataclasses.replace(Settings.from_env("identity"), environment="development"))
    assert any("DEVELOPMENT MODE (DPP_ENV=development)" in r.getMessage() for r in caplog.records)


def test_dpp_stack_refuses_jwt_secret_in_production(tmp_path: Path) -> None:
    env = {**os.environ, "DPP_ENV": "production", "JWT_SECRET": "s" * 40, "DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "from subgraphs.cli import stack_main; raise SystemExit(stack_main())"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "refusing to start: JWT_SECRET is set, but HS256 tokens are gone" in done.stderr
    assert not list(tmp_path.iterdir())  # nothing was created
