"""World state read at scrape time: approvals, incidents, actions, LLM usage.

Read under the world lock, creating no store: a metric whose store does not exist yet is
simply absent. Actions come from the audit log (the one record of what was done):
`action` records are executed actions, `action_failed` failed ones, and refusals are gate
denials, chat tool calls refused and approvals voided.
"""

import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime

from fastapi import FastAPI
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from llm.usage import UsageLedger
from tools.errors import LotsenError
from world.world import USAGE_FILE, World

log = logging.getLogger(__name__)
OPEN = ("open", "acknowledged", "remediating")
REFUSALS = frozenset({"chat_tool_refused", "approval_void"})


class WorldCollector(Collector):
    """Reads the app's World under its lock when Prometheus scrapes."""

    def __init__(self, app: FastAPI) -> None:
        """Collect from `app`'s world."""
        self.app = app

    def collect(self) -> Iterator[Metric]:
        """Yield the world's gauges and counters (a part that fails is logged and left out)."""
        world = self.app.state.world
        assert isinstance(world, World)
        with self.app.state.world_lock:
            for part in (_approvals, _incidents, _actions, _llm):
                try:
                    yield from part(world)
                except LotsenError as exc:  # no world seeded yet, a damaged store, ...
                    log.info("metrics: %s skipped: %s", part.__name__, exc)
                except Exception:  # a broken store must not take /metrics down
                    log.exception("metrics: %s failed", part.__name__)


def _approvals(world: World) -> Iterator[Metric]:
    pending = GaugeMetricFamily(
        "lotsen_approvals_pending", "Approval requests waiting for a human.", labels=["agent"]
    )
    oldest = GaugeMetricFamily(
        "lotsen_approvals_pending_oldest_age_seconds",
        "Age of the oldest pending approval request.",
        labels=["agent"],
    )
    if world.state.approvals_db.exists():
        now: datetime = world.clock()
        ages: dict[str, list[float]] = defaultdict(list)
        for r in world.approvals.requests(now, "pending"):
            ages[r.agent].append((now - r.created_at).total_seconds())
        for agent, values in sorted(ages.items()):
            pending.add_metric([agent], len(values))
            oldest.add_metric([agent], max(values))
    yield pending
    yield oldest


def _incidents(world: World) -> Iterator[Metric]:
    from world.incidents import incident_store

    gauge = GaugeMetricFamily(
        "lotsen_incidents_open", "Incidents not resolved or closed, by kind.", labels=["kind"]
    )
    store = incident_store(world)
    if store is not None:
        counts = Counter(r.kind for r in store.occurrences() if r.status in OPEN)
        for kind, n in sorted(counts.items()):
            gauge.add_metric([kind], n)
    yield gauge


def _actions(world: World) -> Iterator[Metric]:
    family = CounterMetricFamily(
        "lotsen_actions", "Actions by outcome (from the audit log).", labels=["outcome"]
    )
    counts: Counter[str] = Counter()
    if world.state.audit_db.exists():
        for record in world.audit.records():
            if record.kind == "action":
                counts["executed"] += 1
            elif record.kind == "action_failed":
                counts["failed"] += 1
            elif record.kind in REFUSALS or (
                record.kind == "gate" and record.data.get("verdict") == "deny"
            ):
                counts["refused"] += 1
    for outcome in ("executed", "failed", "refused"):
        family.add_metric([outcome], counts[outcome])
    yield family


def _llm(world: World) -> Iterator[Metric]:
    labels = ["tier", "agent"]
    calls = CounterMetricFamily("lotsen_llm_calls", "LLM calls.", labels=labels)
    tokens = CounterMetricFamily("lotsen_llm_tokens", "LLM tokens.", labels=[*labels, "direction"])
    cost = CounterMetricFamily("lotsen_llm_cost", "LLM cost (tier price units).", labels=labels)
    fallbacks = CounterMetricFamily(
        "lotsen_llm_fallbacks", "LLM calls that fell back or failed.", labels=labels
    )
    path = world.settings.data_dir / USAGE_FILE
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0, 0.0, 0])
    for r in UsageLedger.load(path).records if path.exists() else []:
        t = totals[(r.tier, r.agent)]
        t[0] += 1
        t[1] += r.input_tokens
        t[2] += r.output_tokens
        t[3] += r.cost
        t[4] += r.outcome != "ok"
    for (tier, agent), (n, tin, tout, spent, fell) in sorted(totals.items()):
        calls.add_metric([tier, agent], n)
        tokens.add_metric([tier, agent, "in"], tin)
        tokens.add_metric([tier, agent, "out"], tout)
        cost.add_metric([tier, agent], spent)
        fallbacks.add_metric([tier, agent], fell)
    yield from (calls, tokens, cost, fallbacks)
