"""Comparing two runs: per-scenario and per-group deltas, regressions first."""

from pydantic import BaseModel

from evals.runner import RunResult


class Delta(BaseModel):
    """One scenario (or group) in both runs."""

    name: str
    before: float
    after: float
    regression: bool
    """Success dropped (by more than `tolerance`)."""

    @property
    def change(self) -> float:
        """After - before."""
        return self.after - self.before


class Comparison(BaseModel):
    """What changed from run A to run B."""

    scenarios: list[Delta]
    groups: list[Delta]
    only_in_a: list[str]
    only_in_b: list[str]

    @property
    def regressions(self) -> list[Delta]:
        """Scenarios and groups that got worse."""
        return [d for d in self.scenarios + self.groups if d.regression]


def compare(a: RunResult, b: RunResult, tolerance: float = 0.0) -> Comparison:
    """Compare pass@1 per (scenario, tier) and per group; a drop beyond `tolerance` regresses.

    Two single-tier runs are compared scenario by scenario whatever their tiers (e.g. tier 0
    against a small model); otherwise scenarios pair up by (scenario, tier).
    """
    single = len(a.tiers) == 1 and len(b.tiers) == 1
    before = {(s.scenario, "" if single else s.tier): s.pass_at_1 for s in a.metrics.scenarios}
    after = {(s.scenario, "" if single else s.tier): s.pass_at_1 for s in b.metrics.scenarios}
    scenarios = [
        Delta(
            name=f"{name} @ {tier}" if tier else name,
            before=before[(name, tier)],
            after=after[(name, tier)],
            regression=after[(name, tier)] < before[(name, tier)] - tolerance,
        )
        for name, tier in sorted(before.keys() & after.keys())
    ]
    groups = []
    for grouping, values in a.metrics.by.items():
        if grouping == "tier" and single:
            continue
        for value, g in values.items():
            other = b.metrics.by.get(grouping, {}).get(value)
            if other is not None:
                groups.append(
                    Delta(
                        name=f"{grouping}={value}",
                        before=g.pass_at_1,
                        after=other.pass_at_1,
                        regression=other.pass_at_1 < g.pass_at_1 - tolerance,
                    )
                )
    scenarios.sort(key=lambda d: (not d.regression, d.change, d.name))
    groups.sort(key=lambda d: (not d.regression, d.change, d.name))
    return Comparison(
        scenarios=scenarios,
        groups=groups,
        only_in_a=sorted(f"{n} @ {t}" if t else n for n, t in before.keys() - after.keys()),
        only_in_b=sorted(f"{n} @ {t}" if t else n for n, t in after.keys() - before.keys()),
    )
