"""The eval runner: scenarios x tiers x trials, each trial in its own data dir.

Per (scenario, tier): prepare the world once (cached base world + faults), snapshot it,
then for each trial copy it, run the agent's adapter, snapshot again and apply the oracles.
With `jobs > 1` scenarios run in worker processes. Agents see their world and the chat
question only; the scenario's expectations and the injected ground truth stay here.
"""

import logging
import os
import platform
import shutil
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

from pydantic import BaseModel, Field

from evals.adapters import AgentRun, AgentTask, adapter, tier_settings
from evals.metrics import RunMetrics, compute_metrics
from evals.oracles import Judge, OracleResult, run_oracles
from evals.scenario import Scenario
from evals.setup import base_world, copy_world, fresh_dir, prepare
from evals.state import EvalState, WorldSnapshot, snapshot
from llm.tiers import TIER0, LlmTier
from tools.errors import LotsenError
from world.layout import configure_mlflow_env

logger = logging.getLogger(__name__)
SCHEMA = "lotsen.evals/1"


class EmptyRunError(LotsenError):
    """A run executed no case: there is nothing to report."""


class ScenarioInfo(BaseModel):
    """A scenario as the report shows it (no expectations)."""

    id: str
    agent: str
    level: str
    difficulty: str
    control: bool
    split: str
    tags: list[str]
    description: str = ""


class CaseResult(BaseModel):
    """One trial of one scenario at one tier."""

    scenario: str
    agent: str
    level: str
    difficulty: str
    control: bool
    split: str
    tags: list[str] = Field(default_factory=list)
    tier: str
    """The tier requested (`tier0` or a configured tier's name)."""
    trial: int
    passed: bool
    oracles: list[OracleResult] = Field(default_factory=list)
    run: AgentRun | None = None
    error: str | None = None


class RunResult(BaseModel):
    """A whole run: every case, and the metrics over them."""

    schema_: str = Field(default=SCHEMA, alias="schema")
    started_at: datetime
    finished_at: datetime
    wall_s: float
    trials: int
    jobs: int
    tiers: list[str]
    host: str
    scenarios: list[ScenarioInfo]
    cases: list[CaseResult]
    metrics: RunMetrics

    model_config = {"populate_by_name": True}


Progress = Callable[[int, int], None]


def run_suite(
    scenarios: list[Scenario],
    *,
    trials: int,
    tiers: list[LlmTier | None],
    jobs: int,
    workdir: Path,
    cache_dir: Path,
    keep: bool = False,
    judge_tier: LlmTier | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Run every scenario at every tier `trials` times.

    Raises:
        EmptyRunError: no case was executed (nothing selected, or every scenario failed to set up).
    """
    started, clock = datetime.now(UTC), time.perf_counter()
    configure_mlflow_env()
    for seed, models in sorted({(s.seed, s.fleet.models) for s in scenarios}):
        base_world(cache_dir, seed, models)
    work = [(s, t) for s in scenarios for t in tiers]
    cases: list[CaseResult] = []
    if jobs <= 1 or len(work) <= 1:
        for done, (scenario, tier) in enumerate(work, start=1):
            cases += scenario_cases(scenario, tier, trials, workdir, cache_dir, keep, judge_tier)
            if progress is not None:
                progress(done, len(work))
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(scenario_cases, s, t, trials, workdir, cache_dir, keep, judge_tier)
                for s, t in work
            ]
            for done, future in enumerate(as_completed(futures), start=1):
                cases += future.result()
                if progress is not None:
                    progress(done, len(work))
    executed = [c for c in cases if c.run is not None]
    if not executed:
        raise EmptyRunError(
            "no case was executed (0 scenarios selected, or every one failed to set up); "
            "nothing to report"
        )
    order = {s.id: i for i, s in enumerate(scenarios)}
    cases.sort(key=lambda c: (order[c.scenario], c.tier, c.trial))
    infos = [
        ScenarioInfo(
            id=s.id,
            agent=s.agent,
            level=s.level,
            difficulty=s.difficulty,
            control=s.control,
            split=s.split,
            tags=s.tags,
            description=s.description,
        )
        for s in scenarios
    ]
    return RunResult(
        started_at=started,
        finished_at=datetime.now(UTC),
        wall_s=round(time.perf_counter() - clock, 2),
        trials=trials,
        jobs=jobs,
        tiers=[t.name if t else TIER0 for t in tiers],
        host=f"{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()})",
        scenarios=infos,
        cases=cases,
        metrics=compute_metrics(cases, trials),
    )


def scenario_cases(
    scenario: Scenario,
    tier: LlmTier | None,
    trials: int,
    workdir: Path,
    cache_dir: Path,
    keep: bool = False,
    judge_tier: LlmTier | None = None,
) -> list[CaseResult]:
    """All trials of one scenario at one tier (runs in a worker process with --jobs)."""
    tier_name = tier.name if tier is not None else TIER0
    root = fresh_dir(workdir, f"{scenario.id}-{tier_name}")
    try:
        prepared = prepare(scenario, cache_dir, root / "prepared")
        initial = snapshot(prepared.data_dir)
    except Exception as exc:  # a broken scenario is a failed case, not a crashed run
        logger.warning("scenario %s failed to set up: %s", scenario.id, exc)
        return [_failed(scenario, tier_name, 0, f"setup: {_describe(exc)}", run=None)]
    results = []
    for trial in range(trials):
        data = root / f"trial-{trial}"
        copy_world(prepared.data_dir, data)
        results.append(_trial(scenario, tier, trial, data, initial, judge_tier, root))
        if not keep:
            shutil.rmtree(data, ignore_errors=True)
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    return results


def _trial(
    scenario: Scenario,
    tier: LlmTier | None,
    trial: int,
    data: Path,
    initial: WorldSnapshot,
    judge_tier: LlmTier | None,
    root: Path,
) -> CaseResult:
    """Run the agent once on its own copy of the world and judge the final state."""
    tier_name = tier.name if tier is not None else TIER0
    task = AgentTask(
        settings=tier_settings(data, tier),
        tier=tier,
        ask=scenario.ask,
        earlier=tuple(scenario.earlier),
        propose=scenario.propose,
        human=scenario.human,
    )
    start = time.perf_counter()
    try:
        run = adapter(scenario.agent)(task)
    except Exception as exc:  # the agent crashed: the trial fails, the run goes on
        crashed = AgentRun(latency_s=time.perf_counter() - start)
        return _failed(scenario, tier_name, trial, _describe(exc), run=crashed)
    try:
        state = EvalState(initial=initial, final=snapshot(data), output=run.output)
        verdicts = run_oracles(scenario.expect, state)
        if judge_tier is not None:
            verdicts = _judged(scenario, state, verdicts, judge_tier, root)
    except Exception as exc:  # an unreadable final state fails the trial, not the run
        return _failed(scenario, tier_name, trial, f"final state: {_describe(exc)}", run=run)
    return CaseResult(
        **_meta(scenario),
        tier=tier_name,
        trial=trial,
        passed=all(v.passed for v in verdicts),
        oracles=verdicts,
        run=run,
    )


def _judged(
    scenario: Scenario,
    state: EvalState,
    verdicts: list[OracleResult],
    tier: LlmTier,
    root: Path,
) -> list[OracleResult]:
    """Replace the skipped judge verdicts with the judge tier's (usage kept apart)."""
    from evals.judge import judge
    from llm.call import LlmContext
    from llm.chat import chat_model
    from llm.usage import UsageLedger

    llm = LlmContext(tier=tier, model=chat_model(tier), ledger=UsageLedger(root / "judge.jsonl"))
    return [
        judge(oracle, state, scenario.ask, llm) if isinstance(oracle, Judge) else verdict
        for oracle, verdict in zip(scenario.expect, verdicts, strict=True)
    ]


def _meta(scenario: Scenario) -> dict[str, object]:
    return {
        "scenario": scenario.id,
        "agent": scenario.agent,
        "level": scenario.level,
        "difficulty": scenario.difficulty,
        "control": scenario.control,
        "split": scenario.split,
        "tags": scenario.tags,
    }


def _failed(
    scenario: Scenario, tier: str, trial: int, error: str, *, run: AgentRun | None
) -> CaseResult:
    """A failed trial; `run=None` marks a scenario that never got to run (setup failed)."""
    return CaseResult(**_meta(scenario), tier=tier, trial=trial, passed=False, run=run, error=error)


def _describe(exc: Exception) -> str:
    if isinstance(exc, LotsenError):
        return f"{type(exc).__name__}: {exc}"
    return "".join(traceback.format_exception_only(exc)).strip()[-500:]
