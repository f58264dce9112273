"""Tests of the passport subgraph."""
