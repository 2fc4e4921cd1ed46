"""Suite self-checks: the reference solution passes, doing nothing (or acting on a control) fails.

Run without any agent: the reference solution and the `act_anyway` perturbation are applied
straight to a copy of the scenario's prepared world (`evals.actions`), then the scenario's
oracles judge the final state exactly as they judge an agent's.
"""

import shutil
from pathlib import Path

from pydantic import BaseModel

from evals.actions import Action, apply_actions
from evals.oracles import OracleResult, run_oracles
from evals.scenario import Scenario
from evals.setup import copy_world, fresh_dir, ground_truth, prepare
from evals.state import AgentOutput, EvalState, WorldSnapshot, snapshot
from world.world import World


class SelfCheck(BaseModel):
    """Oracle verdicts for the reference, for doing nothing, and for acting anyway."""

    scenario: str
    control: bool
    reference: list[OracleResult]
    nothing: list[OracleResult]
    act_anyway: list[OracleResult]

    @property
    def problems(self) -> list[str]:
        """What is wrong with the scenario ([] = sound)."""
        found = []
        if not all(r.passed for r in self.reference):
            failed = [f"{r.oracle}: {r.detail}" for r in self.reference if not r.passed]
            found.append(f"{self.scenario}: reference solution fails {failed}")
        if not self.control and all(r.passed for r in self.nothing):
            found.append(f"{self.scenario}: doing nothing passes every oracle")
        if self.control and all(r.passed for r in self.act_anyway):
            found.append(f"{self.scenario}: acting anyway on a control passes every oracle")
        return found


def self_check(scenario: Scenario, cache_dir: Path, workdir: Path) -> SelfCheck:
    """Check one scenario's oracles against its reference solution and against inaction."""
    root = fresh_dir(workdir, scenario.id)
    prepared = prepare(scenario, cache_dir, root / "prepared", light=True)
    initial = snapshot(prepared.data_dir)
    nothing = EvalState(initial=initial, final=initial, output=AgentOutput())
    try:
        return SelfCheck(
            scenario=scenario.id,
            control=scenario.control,
            reference=_apply(
                scenario, scenario.reference_solution, prepared.data_dir, initial, root / "ref"
            ),
            nothing=run_oracles(scenario.expect, nothing),
            act_anyway=(
                _apply(scenario, scenario.act_anyway, prepared.data_dir, initial, root / "act")
                if scenario.control
                else []
            ),
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _apply(
    scenario: Scenario,
    actions: list[Action],
    prepared: Path,
    initial: WorldSnapshot,
    target: Path,
) -> list[OracleResult]:
    settings = copy_world(prepared, target)
    with World(settings) as world:
        output = apply_actions(actions, world, ground_truth(prepared).models_hit)
    state = EvalState(initial=initial, final=snapshot(settings.data_dir), output=output)
    return run_oracles(scenario.expect, state)
