"""Tests of the identity subgraph, over real servers on SQLite and PostgreSQL."""
