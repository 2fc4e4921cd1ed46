"""The compliance reviewer: policies as code over registry + cluster, and the action gate."""
