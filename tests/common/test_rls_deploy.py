"""docker-compose connects the subgraphs as a role that row-level security applies to."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from subgraphs.common.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]


def test_compose_subgraphs_connect_as_the_non_superuser_owner_of_their_database() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    init = (ROOT / "infra" / "postgres" / "init.sql").read_text()
    superuser = compose["services"]["postgres"]["environment"]["POSTGRES_USER"]
    for name in SERVICE_NAMES:
        url = make_url(compose["services"][name]["environment"]["DATABASE_URL"])
        role = url.username
        assert role and role != superuser, f"{name} connects as the superuser: RLS would not apply"
        created = re.search(rf"CREATE ROLE {role} ([^;]*);", init)
        assert created, f"init.sql does not create {role}"
        assert {"NOSUPERUSER", "NOBYPASSRLS"} <= set(created.group(1).split()), created.group(1)
        assert f"ALTER DATABASE {url.database} OWNER TO {role};" in init
