"""Graph nodes: each a small function of the state, wired together in `nanoscale.graph`."""
