"""The catalog subgraph: the category taxonomy and tenants' products."""
