"""The agent evaluation suite: scenarios, the runner, state oracles, metrics and reports.

`scenario` (YAML files, validated) -> `setup` (cached world, faults) -> `adapters` (one per
agent, at a tier) -> `state` + `oracles` (the final world state, checked) -> `metrics`
(pass@1, pass^k, false positives on controls, cost) -> `report` / `compare`.
`selfcheck` proves each scenario sound without any agent; `doubles` are the LLM test doubles.
"""
