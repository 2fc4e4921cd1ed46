"""`lotsen bench remediation`: an upstream break across 200 of 1,000 models, decided at tier 0.

Baseline in the same run: deciding per model (200 separate decisions), which is what a
monitor without incident grouping would do.
"""

import time

import numpy as np
from pydantic import BaseModel

from agents.remediation.plan import Action, tier0_plan
from lotsen.bench.drift import synthetic_batch
from tools.drift.engine import scan
from tools.drift.incidents import group_incidents

BROKEN = 200


class UpstreamBreakBench(BaseModel):
    """Figures for the upstream-break decision."""

    models: int
    broken: int
    incidents: int
    retrains: int
    decide_s: float
    """Scan + grouping + tier-0 decisions + gate for the whole fleet."""
    per_model_decisions: int
    """Decisions a per-model monitor would make for the same break."""


def bench_upstream_break(models: int = 1000, features: int = 30) -> UpstreamBreakBench:
    """Build the fleet's pre-binned window with a null spike in one pipeline, then decide."""
    batch = synthetic_batch(models, features, np.random.default_rng(3))
    f, m = batch.features, batch.models
    m.pipeline = ["upstream-a" if i < BROKEN else f"pipeline-{i % 9}" for i in range(models)]
    broken_rows = (f.model_index < BROKEN) & (np.array([name == "f00" for name in f.feature]))
    f.cur_nulls = np.where(broken_rows, f.cur_n * 1.5, f.cur_nulls)  # 60% nulls in f00
    f.cur_counts[broken_rows] *= 0.4
    f.cur_sums[broken_rows] *= 0.4
    f.cur_n = np.where(broken_rows, f.cur_n * 0.4, f.cur_n)
    start = time.perf_counter()
    incidents = group_incidents([s for s in scan(batch) if s.anomalous])
    plans = [tier0_plan(i) for i in incidents]
    seconds = time.perf_counter() - start
    upstream = [p for p in plans if p.action is Action.OPEN_DATA_INCIDENT]
    return UpstreamBreakBench(
        models=models,
        broken=BROKEN,
        incidents=len(upstream),
        retrains=sum(
            len(p.models) for p in plans if p.action in (Action.RETRAIN, Action.RETRAIN_WITH_REVIEW)
        ),
        decide_s=seconds,
        per_model_decisions=sum(len(p.models) for p in upstream),
    )
