"""Alembic environment: the shared implementation lives in subgraphs.common.migrations."""

from alembic import context

from subgraphs.common.migrations import run_env

run_env(context)
