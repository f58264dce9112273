"""Outside development, identity refuses to create the demo accounts (their passwords are public)."""

from __future__ import annotations

import dataclasses

import pytest

from subgraphs.cli import prepare
from subgraphs.identity.seed import DemoSeedRefused
from tests.support.subgraphs import subgraph_settings


def test_demo_accounts_are_refused_in_production(database_url_factory) -> None:
    url = database_url_factory("identity")
    settings = dataclasses.replace(subgraph_settings("identity", url), environment="production")
    with pytest.raises(DemoSeedRefused, match="refusing to seed the demo accounts with DPP_ENV=production"):
        prepare("identity", settings, seed=True)
    prepare("identity", settings, seed=False)  # migrating alone is fine
