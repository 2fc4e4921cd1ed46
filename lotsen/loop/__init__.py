"""The operating loop: scheduled scans, remediation, compliance and capacity, one leader."""
