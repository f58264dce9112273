"""The identity subgraph: tenants, users, memberships and roles; the dev token issuer."""
