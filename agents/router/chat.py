"""The assistant's router: which tier answers a chat question, recorded where it is seen.

The tier-0 grammar is the chat's verifier, and it runs before any call: a question it
does not parse (or parses with an unknown model) rules tier 0 out, so the cascade
"tier 0, verify, escalate" costs one parse, not one wasted answer. A tier whose latest call
failed (the usage ledger says so) is routed around. The decision goes to the usage ledger
(on the call's own records) and to the audit log (`route_decision`).
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from agents.router.policy import RouteDecision, Router, RouteRequest, TierHealth
from agents.router.registry import CapabilityRegistry, TierInfo
from agents.router.tasks import task_class_for_question
from llm.tiers import TIER0, LlmTier
from llm.usage import UsageRecord

if TYPE_CHECKING:
    from agents.assistant.context import AssistantContext
    from llm.call import LlmContext

AUDIT_KIND = "route_decision"
REGISTRY_FILE = Path("router") / "registry.yaml"
"""Where a measured registry lives in a data dir (`lotsen route learn` writes it)."""
MANY_MODELS = 3
"""More models than this named in one question: the `many_models` feature."""
_QUESTION_CHARS = 300
_TAIL_BYTES = 64_000
"""How much of the end of the usage file is read for tier health."""


def registry_for(data_dir: Path, tiers: list[LlmTier]) -> CapabilityRegistry:
    """The data dir's measured registry, else priors over tier 0 and `tiers`."""
    path = data_dir / REGISTRY_FILE
    if path.exists():
        return CapabilityRegistry.load(path)
    return CapabilityRegistry(
        sources=["priors (nothing measured)"],
        tiers=[
            TierInfo(name=TIER0),
            *(
                TierInfo(
                    name=t.name,
                    cost_per_1k_input=t.cost_per_1k_input,
                    cost_per_1k_output=t.cost_per_1k_output,
                )
                for t in tiers
            ),
        ],
    )


def health_from_ledger(
    records: list[UsageRecord], now: datetime, window: timedelta = timedelta(minutes=5)
) -> TierHealth:
    """Tiers whose latest call (within `window`) failed are down; recent latency per tier."""
    health = TierHealth()
    latest: dict[str, UsageRecord] = {}
    for record in records:
        if record.tier != TIER0 and now - record.at <= window:
            latest[record.tier] = record
    for tier, record in latest.items():
        if record.outcome == "error":
            health.mark_down(tier, record.detail or "the last call failed")
        else:
            health.latency_s[tier] = record.latency_s
    return health


def recent_usage(path: Path) -> list[UsageRecord]:
    """The records at the end of a usage file (unparseable lines skipped)."""
    if not path.exists():
        return []
    with path.open("rb") as handle:
        start = max(0, handle.seek(0, 2) - _TAIL_BYTES)
        handle.seek(start)
        lines = handle.read().decode("utf-8", errors="replace").splitlines()
    if start > 0:  # the first line read is probably cut
        lines = lines[1:]
    records = []
    for line in lines:
        try:
            records.append(UsageRecord.model_validate_json(line))
        except ValueError:
            continue
    return records


def chat_features(question: str, ctx: "AssistantContext") -> list[str]:
    """Difficulty features of a question, from the tier-0 grammar's matching alone.

    No intent is answered here (some run a scan or a plan): only whether one matches.
    """
    from agents.assistant import mutations
    from agents.assistant.context import FleetView
    from agents.assistant.grammar import AGENT_INTENTS, BUILTIN_INTENTS
    from agents.assistant.query import parse

    query = parse(question, FleetView(ctx))
    intents = (*ctx.extra_intents, *AGENT_INTENTS, *BUILTIN_INTENTS)
    matched = mutations.detect(query) is not None or any(i.matches(query) for i in intents)
    features = []
    if query.unknown:
        features.append("low_tier0_confidence")
    elif not matched:
        features.append("no_grammar_match")
    if len(query.models) > MANY_MODELS:
        features.append("many_models")
    return features


@dataclass
class ChatRouter:
    """Chooses the assistant's tier per question; `choose` is what `answer()` calls."""

    registry: CapabilityRegistry
    target: float = 0.98
    usage_file: Path | None = None
    """The usage ledger's file: the recent calls that say a tier is down or slow."""
    decisions: list[RouteDecision] = field(default_factory=list)
    """Every decision made (for `lotsen route explain` and tests)."""

    def decide(
        self, question: str, ctx: "AssistantContext", now: datetime | None = None
    ) -> RouteDecision:
        """The decision for one question (nothing recorded)."""
        health = health_from_ledger(self._recent(ctx), now or datetime.now(UTC))
        router = Router(
            self.registry,
            target=self.target,
            health=health,
            stale=self.registry.is_stale(now or datetime.now(UTC)),
        )
        request = RouteRequest(
            task_class=task_class_for_question(question),
            agent="assistant",
            features=chat_features(question, ctx),
            available=[TIER0, *(llm.tier.name for llm in ctx.llms)],
        )
        return router.route(request)

    def _recent(self, ctx: "AssistantContext") -> list[UsageRecord]:
        """The last calls: from the usage file (other processes' too), else in memory."""
        if self.usage_file is None or not self.usage_file.exists():
            return ctx.llms[0].ledger.records if ctx.llms else []
        return recent_usage(self.usage_file)

    def choose(self, ctx: "AssistantContext", question: str) -> "LlmContext | None":
        """The LLM to answer `question` (None: tier 0), with the decision recorded."""
        decision = self.decide(question, ctx)  # the ledger's and registry's times are wall clock
        self.decisions.append(decision)
        if ctx.audit is not None:
            ctx.audit.append(
                AUDIT_KIND,
                actor=ctx.user,
                data={
                    "question": question[:_QUESTION_CHARS],
                    **decision.model_dump(
                        mode="json",
                        include={
                            "task_class",
                            "agent",
                            "tier",
                            "cascade",
                            "why",
                            "features",
                            "routed_around",
                            "stale",
                        },
                    ),
                },
            )
        llm = next((m for m in ctx.llms if m.tier.name == decision.tier), None)
        if llm is None:
            if ctx.llms:
                ctx.llms[0].ledger.add(
                    UsageRecord(
                        agent="assistant",
                        task=decision.task_class,
                        tier=TIER0,
                        route=f"{decision.task_class}: {decision.why}",
                    )
                )
            return None
        return replace(llm, route=f"{decision.task_class}: {decision.why}")
