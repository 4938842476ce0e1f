"""Branch analytics over the choice log: metrics, roll-ups and reports (no UI imports)."""
