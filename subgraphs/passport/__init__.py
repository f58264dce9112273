"""The passport subgraph: Digital Product Passports, their published versions and audit trail."""
