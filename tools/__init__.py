"""Everything the agents act on: domain types, registry, cluster, fleet."""
