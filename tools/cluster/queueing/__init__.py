"""Kueue-style queueing: quota arithmetic, preemption and why a workload waits."""
