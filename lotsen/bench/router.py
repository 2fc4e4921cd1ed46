"""`lotsen bench router`: always-largest vs always-tier-0 vs the router, on a held-out split.

Every case of the eval suite is known at every tier: tier 0 from the real deterministic
agents (an eval run), the LLM tiers either from real endpoints (LOTSEN_LLM_TIERS: the eval
suite is run at each) or, without them, from the scripted doubles whose per-task-class
behaviour is `llm/doubles/tier_profiles.yaml` (each drawn call is replayed through a
scripted OpenAI-compatible server, so tokens and cost come from the usage ledger). Cases
are split by a hash of their id: the router's registry and threshold are fitted on the
training split, and all three policies are scored on the other.
"""

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from agents.router.calibrate import (
    Calibration,
    CaseRun,
    PolicyScore,
    calibrate,
    registry_of,
    router_policy,
    score,
    split_of,
)
from agents.router.policy import Router
from agents.router.registry import CapabilityRegistry, Outcome, TierInfo
from agents.router.tasks import task_class_of
from llm.tiers import TIER0, LlmTier
from llm.usage import UsageLedger
from tools.errors import ConfigError

if TYPE_CHECKING:
    from evals.runner import CaseResult, RunResult
    from evals.scenario import Scenario
    from llm.doubles.tier_profiles import TierProfiles
    from llm.doubles.tier_server import ScriptedTiers

NOT_UNDERSTOOD = "I did not understand"
MANY_MODELS = 500


class RouterBenchResult(BaseModel):
    """The benchmark's figures (all policy scores on the held-out split)."""

    mode: Literal["simulated", "real"]
    first_line: str
    tiers: list[TierInfo]
    largest: str
    train_cases: int
    test_cases: int
    calibration: Calibration
    policies: list[PolicyScore]
    """always-largest, always-tier0, router: on the held-out split."""
    cost_reduction: float
    """1 - router cost / always-largest cost."""
    success_ratio: float
    """router success / always-largest success."""
    registry: CapabilityRegistry
    """What the router learned from the training split."""


def features_of(scenario: "Scenario", tier0: Outcome | None) -> list[str]:
    """Difficulty features a caller knows before answering."""
    features = []
    if scenario.difficulty == "hard":
        features.append("hard")
    if len(scenario.faults) > 1:
        features.append("conflicting_signals")
    if scenario.fleet.models > MANY_MODELS:
        features.append("many_models")
    if scenario.agent == "assistant" and tier0 is not None and not tier0.verified:
        features.append("no_grammar_match")
    return features


def outcome_of(case: "CaseResult", task_class: str) -> Outcome:
    """A recorded eval case as the router sees it (verified: its verifier's view)."""
    run = case.run
    text = run.output.answer.text if run is not None and run.output.answer else ""
    verified = run is not None and NOT_UNDERSTOOD not in text
    if case.tier != TIER0 and run is not None:
        verified = verified and run.fallbacks == 0
    return Outcome(
        case=case.scenario,
        task_class=task_class,
        tier=case.tier,
        passed=case.passed,
        verified=verified,
        input_tokens=run.input_tokens if run else 0,
        output_tokens=run.output_tokens if run else 0,
        cost=run.cost if run else 0.0,
        latency_s=run.latency_s if run else 0.0,
    )


def case_runs(result: "RunResult", scenarios: list["Scenario"]) -> list[CaseRun]:
    """One `CaseRun` per scenario (first trial), with every tier the run measured."""
    by_id = {s.id: s for s in scenarios}
    runs: dict[str, CaseRun] = {}
    for case in result.cases:
        scenario = by_id.get(case.scenario)
        if scenario is None or case.trial != 0:
            continue
        task_class = task_class_of(scenario.agent, scenario.ask, scenario.propose is not None)
        run = runs.setdefault(case.scenario, CaseRun(case=case.scenario, task_class=task_class))
        run.outcomes[case.tier] = outcome_of(case, task_class)
    for case_id, run in runs.items():
        run.features = features_of(by_id[case_id], run.outcomes.get(TIER0))
        for outcome in run.outcomes.values():
            outcome.features = run.features
    return list(runs.values())


def add_scripted(
    cases: list[CaseRun], profiles: "TierProfiles", served: "ScriptedTiers | None"
) -> None:
    """Give every case an outcome at every scripted tier (replayed when `served`)."""
    for case in cases:
        for tier in profiles.tiers:
            call = profiles.simulate(tier.name, case.task_class, case.case)
            if served is not None:
                call = served.replay(
                    call, agent="router-bench", task=case.task_class, route=case.case
                )
            case.outcomes[tier.name] = Outcome(
                case=case.case,
                task_class=case.task_class,
                tier=tier.name,
                passed=call.passed,
                verified=call.verified,
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                cost=call.cost,
                latency_s=call.latency_s,
                features=case.features,
            )


def bench_router(
    cases: list[CaseRun],
    tiers: list[TierInfo],
    *,
    mode: Literal["simulated", "real"],
    first_line: str,
    train_share: float = 0.5,
    required_ratio: float = 0.98,
) -> RouterBenchResult:
    """Fit on the training split, score the three policies on the held-out split.

    Raises:
        ConfigError: a split is empty (too few cases) or a case misses a tier.
    """
    names = [t.name for t in tiers]
    complete = [c for c in cases if all(n in c.outcomes for n in names)]
    if len(complete) < len(cases):
        missing = sorted({c.case for c in cases} - {c.case for c in complete})
        raise ConfigError(f"cases without an outcome at every tier: {', '.join(missing[:5])}")
    train = [c for c in complete if split_of(c.case, train_share) == "train"]
    test = [c for c in complete if split_of(c.case, train_share) == "test"]
    if not train or not test:
        raise ConfigError(
            f"{len(complete)} case(s) give an empty split (train {len(train)}, test "
            f"{len(test)}); run more scenarios"
        )
    largest = names[-1]
    registry = registry_of(
        train, tiers, source=f"lotsen bench router, training split, {mode} LLM tiers, tier 0 real"
    )
    fitted = calibrate(train, registry, largest, required_ratio=required_ratio)
    router = Router(registry, target=fitted.target, cascade_floor=fitted.cascade_floor)
    policies = [
        score("always-largest", test, lambda _c: [largest]),
        score("always-tier0", test, lambda _c: [TIER0]),
        score("router", test, router_policy(router)),
    ]
    big, routed = policies[0], policies[2]
    return RouterBenchResult(
        mode=mode,
        first_line=first_line,
        tiers=tiers,
        largest=largest,
        train_cases=len(train),
        test_cases=len(test),
        calibration=fitted,
        policies=policies,
        cost_reduction=1 - routed.cost / big.cost if big.cost > 0 else 0.0,
        success_ratio=routed.success / big.success if big.success > 0 else 0.0,
        registry=registry,
    )


def eval_run(
    scenarios: list["Scenario"], tiers: list[LlmTier | None], cache_dir: Path, jobs: int
) -> "RunResult":
    """Run the eval suite once (one trial) at `tiers`."""
    from evals.runner import run_suite

    with tempfile.TemporaryDirectory(prefix="lotsen-bench-router-") as work:
        return run_suite(
            scenarios, trials=1, tiers=tiers, jobs=jobs, workdir=Path(work), cache_dir=cache_dir
        )


def merged_results(runs: list["RunResult"]) -> "RunResult":
    """Several eval runs as one (their cases together; a later run wins a repeated case)."""
    cases = {(c.scenario, c.tier, c.trial): c for run in runs for c in run.cases}
    return runs[0].model_copy(update={"cases": list(cases.values())})


def tier_info(tier: LlmTier) -> TierInfo:
    """The router's view of a configured tier."""
    return TierInfo(
        name=tier.name,
        cost_per_1k_input=tier.cost_per_1k_input,
        cost_per_1k_output=tier.cost_per_1k_output,
    )


def run_router_bench(
    scenarios: list["Scenario"],
    *,
    configured: list[LlmTier],
    cache_dir: Path,
    jobs: int = 1,
    results: "RunResult | None" = None,
    profiles_path: Path | None = None,
    ledger_path: Path | None = None,
    train_share: float = 0.5,
) -> RouterBenchResult:
    """The whole benchmark: real tiers when configured, else the scripted doubles.

    Args:
        scenarios: The eval suite (or the routed subset).
        configured: Real LLM tiers (LOTSEN_LLM_TIERS); empty = simulated LLM tiers.
        cache_dir: The eval world cache.
        jobs: Scenarios in parallel.
        results: A finished eval run to take outcomes from instead of running the suite
            (it must hold tier 0, and with `configured` every configured tier).
        profiles_path: The scripted tiers' behaviour (default: the shipped file).
        ledger_path: Where the scripted calls' usage is recorded (default: in memory).
        train_share: Share of cases in the training split.
    """
    if configured:
        run = results or eval_run(scenarios, [None, *configured], cache_dir, jobs)
        names = ", ".join(t.name for t in configured)
        first = (
            f"LLM tiers REAL: {names} (LOTSEN_LLM_TIERS, measured by the eval suite); "
            "tier 0: the real deterministic agents"
        )
        cases = case_runs(run, scenarios)
        tiers = [TierInfo(name=TIER0), *(tier_info(t) for t in configured)]
        return bench_router(cases, tiers, mode="real", first_line=first, train_share=train_share)
    from llm.doubles.tier_profiles import PROFILES_FILE, TierProfiles
    from llm.doubles.tier_server import ScriptedTiers

    profiles = TierProfiles.load(profiles_path)
    run = results or eval_run(scenarios, [None], cache_dir, jobs)
    cases = case_runs(run, scenarios)
    with ScriptedTiers(profiles, UsageLedger(ledger_path)) as served:
        add_scripted(cases, profiles, served)
        tiers = [TierInfo(name=TIER0), *(tier_info(t) for t in served.tiers())]
    first = (
        "LLM tiers SIMULATED: scripted doubles (scripted OpenAI-compatible servers) with "
        f"per-task-class behaviour from {profiles_path or PROFILES_FILE}; no real model was "
        "called. Tier 0: the real deterministic agents"
    )
    return bench_router(cases, tiers, mode="simulated", first_line=first, train_share=train_share)
