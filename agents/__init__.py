"""The agents (monitor, retrainer, compliance, capacity, ops assistant, router).

Nothing here yet: the agents arrive with the issues that build on the foundation.
"""
