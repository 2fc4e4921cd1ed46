"""What the assistant reads: the world (registry, cluster, remediation state) and its LLMs."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from memory.approvals import ApprovalQueue
from memory.audit import AuditLog
from memory.remediation import RemediationStore
from tools.capacity.energy import CapacityConfig
from tools.catalog import ToolContext
from tools.cluster.protocol import Cluster
from tools.domain import Deployment, FeaturePipeline, Namespace, PoolUsage, RegisteredModel
from tools.policy.spec import Policy
from tools.registry import ModelRegistry
from tools.runtime import ToolSpec

if TYPE_CHECKING:
    from agents.assistant.intent import Intent
    from agents.router.chat import ChatRouter
    from llm.call import LlmContext  # LangChain: imported only where an LLM tier is used
    from tools.telemetry.store import TelemetryStore


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AssistantContext:
    """Everything `answer()` may read. Only `registry` and `cluster` are required."""

    registry: ModelRegistry
    cluster: Cluster
    pipelines: Sequence[FeaturePipeline] = ()
    """Feature pipelines (owners, features); models name theirs even without this."""
    store: RemediationStore | None = None
    """Remediation state: data incidents and approval requests (None: none recorded)."""
    audit: AuditLog | None = None
    """The audit log, for "what changed" questions, and where refused tool calls and
    proposals from chat are recorded (None: not available, nothing recorded)."""
    llms: "Sequence[LlmContext]" = ()
    """Configured LLM tiers, cheapest first; empty = tier 0 only."""
    router: "ChatRouter | None" = None
    """Chooses the tier per question when none is asked for (None: the cheapest LLM tier)."""
    user: str = "assistant"
    """Recorded as the proposer of any action the assistant proposes."""
    clock: Callable[[], datetime] = _utcnow
    """The world's clock (approval expiry, "recently"); default: the wall clock."""
    capacity: CapacityConfig = field(default_factory=CapacityConfig)
    """Prices, carbon curve and thresholds of the capacity planner."""
    policies: Sequence[Policy] | None = None
    """Compliance policies (shipped + configured); None = the shipped ones."""
    extra_intents: Sequence["Intent"] = field(default_factory=tuple)
    """More tier-0 intents (e.g. of a new agent), tried before the built-in ones."""
    extra_tools: Sequence[ToolSpec] = field(default_factory=tuple)
    """More read-only tools offered to the LLM tier (mutating ones only become proposals)."""
    approvals: ApprovalQueue | None = None
    """The approval queue, for "why is apr-... waiting" (None: none recorded)."""
    telemetry: "Callable[[], TelemetryStore] | None" = None
    """Opens the telemetry store for drift questions (None: no telemetry in this world)."""

    def tools(self) -> "AssistantToolContext":
        """The tool context over this assistant context (its gate, its clock)."""
        return AssistantToolContext.of(self)


@dataclass(frozen=True)
class AssistantToolContext(ToolContext):
    """The LLM path's tool context: the catalogue's, plus the assistant's own for its tools."""

    assistant: AssistantContext | None = None

    @classmethod
    def of(cls, ctx: AssistantContext) -> "AssistantToolContext":
        """The tool context for `ctx`."""
        return cls(
            registry=ctx.registry,
            cluster=ctx.cluster,
            capacity=ctx.capacity,
            policies=None if ctx.policies is None else list(ctx.policies),
            clock=ctx.clock,
            telemetry=ctx.telemetry,
            assistant=ctx,
        )

    @property
    def world(self) -> AssistantContext:
        """The assistant context (always set when built with `of`)."""
        assert self.assistant is not None, "build with AssistantToolContext.of(ctx)"
        return self.assistant


class FleetView:
    """One answer's cached reads of the world (each is fetched at most once)."""

    def __init__(self, ctx: AssistantContext) -> None:
        """Read lazily from `ctx`."""
        self.ctx = ctx

    @cached_property
    def models(self) -> dict[str, RegisteredModel]:
        """Registered models by name."""
        return {m.name: m for m in self.ctx.registry.list_models()}

    @cached_property
    def deployments(self) -> list[Deployment]:
        """All deployments."""
        return self.ctx.cluster.deployments()

    @cached_property
    def namespaces(self) -> list[Namespace]:
        """All namespaces."""
        return self.ctx.cluster.namespaces()

    @cached_property
    def pools(self) -> list[PoolUsage]:
        """Allocation versus use per pool."""
        return self.ctx.cluster.pool_usage()

    @cached_property
    def pipelines(self) -> dict[str, FeaturePipeline | None]:
        """Pipeline names (from the catalogue and from the models) -> pipeline, if known."""
        known: dict[str, FeaturePipeline | None] = {m.pipeline: None for m in self.models.values()}
        known.update({p.name: p for p in self.ctx.pipelines})
        return known

    @cached_property
    def teams(self) -> set[str]:
        """Teams owning models or namespaces."""
        owners = {m.owner for m in self.models.values()}
        return owners | {ns.owner for ns in self.namespaces if ns.owner}

    @cached_property
    def pool_names(self) -> set[str]:
        """Node pool names."""
        return {p.pool for p in self.pools}

    @cached_property
    def namespace_names(self) -> set[str]:
        """Namespace names."""
        return {ns.name for ns in self.namespaces}
