"""Keeps the fast lane fast: after a run, time per lane and the tests over the fast lane's
per-test budget that are not marked `slow` (`make test` runs only unmarked tests).

A session fixture's set-up counts towards the first test that uses it, so one test of a
file may show up for its file's shared world; mark what stays slow on every run.
"""

from collections import defaultdict

import pytest

FAST_LANE_BUDGET_S = 2.0
"""A test not marked slow should set up, run and tear down within this (warm, idle machine)."""

SHOWN = 40


class SlowReport:
    """Collects every test's set-up + call + tear-down time, here or from xdist workers."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.marked: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Add one phase of one test."""
        self.seconds[report.nodeid] += report.duration
        if "slow" in report.keywords:
            self.marked.add(report.nodeid)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print the time per lane and the unmarked tests over budget, slowest first."""
        if not self.seconds:
            return
        fast = {n: s for n, s in self.seconds.items() if n not in self.marked}
        slow_total = sum(s for n, s in self.seconds.items() if n in self.marked)
        terminalreporter.write_sep("-", "test time per lane (summed over workers)")
        terminalreporter.write_line(
            f"fast lane: {len(fast)} tests, {sum(fast.values()):.0f} s; "
            f"marked slow: {len(self.marked)} tests, {slow_total:.0f} s"
        )
        over = sorted(((s, n) for n, s in fast.items() if s > FAST_LANE_BUDGET_S), reverse=True)
        if not over:
            return
        terminalreporter.write_line(
            f"{len(over)} tests not marked slow took over {FAST_LANE_BUDGET_S:g} s "
            f"({sum(s for s, _ in over):.0f} s together):"
        )
        for seconds, nodeid in over[:SHOWN]:
            terminalreporter.write_line(f"  {seconds:6.1f} s  {nodeid}")
