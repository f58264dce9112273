"""Catalog subgraph tests: real servers on SQLite and PostgreSQL."""
