"""What every DPP subgraph shares: settings, persistence, caller identity, errors, audit, metrics."""
