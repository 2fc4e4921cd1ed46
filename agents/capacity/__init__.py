"""The capacity planner: a plan of gated actions from the deterministic core, explained."""
