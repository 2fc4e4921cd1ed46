"""Compliance policies as code: YAML specs, the facts they are checked on, the checks."""
