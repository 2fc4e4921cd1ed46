"""The compliance reviewer's fleet scan (the deterministic core lives in tools/policy)."""

from tools.policy.evaluate import ComplianceReport, Finding, evaluate, scan_compliance

__all__ = ["ComplianceReport", "Finding", "evaluate", "scan_compliance"]
