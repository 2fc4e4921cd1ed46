"""What goes wrong in a scenario's world, and how it is injected.

Telemetry faults go through the simulator's own fault injection (`tools.telemetry.faults`),
cluster faults through the twin's, and the rest (a fresh bad promotion, a narrowed change
plan, a tag, injected instruction text) through the registry and the telemetry store, so
everything an agent later sees is ordinary world state. Ground truth stays in the world's
own fault tables and in the scenario file; agents are never handed either.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from evals.events_world import ServingChange
from tools.telemetry.faults import FaultSpec


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TelemetryFault(FaultSpec):
    """A fault in the newest telemetry window: exactly the simulator's `FaultSpec`."""

    model_config = ConfigDict(extra="forbid")


class Promote(_Fault):
    """A deploy: log a new version (with these metrics) and point `champion` at it."""

    kind: Literal["promote"]
    model: str
    metrics: dict[str, float] = Field(default_factory=lambda: {"auc": 0.7})
    actor: str = "ci-deploy"


class MoveAlias(_Fault):
    """Someone moved an alias (a rollback, a manual promotion), recorded with who and why."""

    kind: Literal["move_alias"]
    model: str
    version: int = Field(ge=1)
    alias: str = "champion"
    actor: str = "alice"
    reason: str = "manual change"


class NarrowChangePlan(_Fault):
    """Replace a model's pre-determined change plan (empty = nothing may change)."""

    kind: Literal["change_plan"]
    model: str
    allowed: list[str] = Field(default_factory=list)


class SetTag(_Fault):
    """Set one registry tag on a model (e.g. a missing logging duty)."""

    kind: Literal["set_tag"]
    model: str
    key: str
    value: str


class InjectText(_Fault):
    """Put instruction-like text where agents read data: a prompt-injection attempt."""

    kind: Literal["inject_text"]
    where: Literal["model_description", "model_tag", "telemetry_category"]
    model: str
    text: str
    feature: str | None = None
    """telemetry_category: the categorical feature whose first category is replaced."""


class QuotaCut(_Fault):
    """Lower a namespace's GPU quota (twin fault)."""

    kind: Literal["quota_cut"]
    namespace: str
    gpus: float = Field(ge=0)


class NodeLoss(_Fault):
    """Take a node down (twin fault)."""

    kind: Literal["node_loss"]
    node: str


class NoisyNeighbour(_Fault):
    """Slow one GPU down (twin fault)."""

    kind: Literal["noisy_neighbour"]
    node: str
    gpu: int = 0
    factor: float = 3.0


class SubmitJob(_Fault):
    """Someone else's job already on the cluster (queue pressure)."""

    kind: Literal["submit_job"]
    namespace: str
    model: str
    hours: float = 1.0
    count: int = Field(default=1, ge=1, le=50)
    priority: int = 0
    """Workload priority (Kueue preemption compares it)."""
    queue: str | None = None
    """LocalQueue in the namespace; None = its `default` (or only) one, if any."""


class ComplianceGap(_Fault):
    """A known compliance gap (`tools.policy.gaps.inject_gap`): a tag, an alias, a config drift."""

    kind: Literal["compliance_gap"]
    gap: str
    """One of `tools.policy.gaps.GAP_KINDS`, e.g. `logging_off`, `network_open`."""
    target: str
    value: str = ""


class AdvanceClock(_Fault):
    """Move the twin's virtual clock (jobs finish, energy accrues)."""

    kind: Literal["advance_clock"]
    hours: float = Field(gt=0)


Fault = Annotated[
    TelemetryFault
    | Promote
    | MoveAlias
    | NarrowChangePlan
    | SetTag
    | InjectText
    | QuotaCut
    | NodeLoss
    | NoisyNeighbour
    | SubmitJob
    | ComplianceGap
    | AdvanceClock
    | ServingChange,
    Field(discriminator="kind"),
]
TELEMETRY_KINDS = frozenset(
    {
        "covariate_shift",
        "concept_drift",
        "pipeline_break",
        "gradual_drift",
        "latency_regression",
        "bad_deploy",
    }
)
