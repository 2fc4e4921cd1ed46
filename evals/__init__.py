"""Evaluation suites: scenarios, runner, oracles (arrives with the evaluation issue)."""
