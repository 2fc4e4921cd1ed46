"""The reference-solution vocabulary, and applying it to a world without any agent.

Self-checks apply a scenario's reference solution (or, for controls, its `act_anyway`
perturbation) straight to the world through the same stores the agents use, audit records
included, then run the oracles: the reference must pass, doing nothing or acting on a
control must fail. Report-type actions (`report_incident`, `report_finding`, `answer`,
`plan`) fill the agent output instead of the world.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from evals.events_world import revert_latest
from evals.state import AgentOutput, Answer, ReportedFinding, ReportedIncident
from memory.approvals import NewRequest
from tools.cluster.sim import SimCluster
from tools.domain import JobSpec, NewVersion
from tools.domain.ownership import training_namespace
from tools.domain.queues import QueuePatch
from tools.fleet.layout import ENV_TAINT, TRAINING_REQUEST, TRAINING_TAINT
from tools.registry import CHALLENGER, CHAMPION, rollback_target
from world.world import World

ACTOR = "eval-reference"


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SetAlias(_Action):
    """Point an alias at a version."""

    do: Literal["set_alias"]
    model: str
    alias: str = CHAMPION
    version: int


class Rollback(_Action):
    """Point `champion` at the version before it."""

    do: Literal["rollback"]
    model: str


class Retrain(_Action):
    """Train a challenger (a job plus a new version), optionally promote it."""

    do: Literal["retrain"]
    model: str
    promote: bool = False


class OpenDataIncident(_Action):
    """Open one data incident for a pipeline and quarantine its window (no retrain)."""

    do: Literal["open_data_incident"]
    pipeline: str
    models: list[str] = Field(default_factory=list)
    """Empty = the models the injected break hit (ground truth; only the harness uses it)."""


class Watch(_Action):
    """Put models on the watch list."""

    do: Literal["watch"]
    models: list[str]


class RequestApproval(_Action):
    """Ask a human; `decided` records what the human did."""

    do: Literal["request_approval"]
    action: str
    models: list[str]
    decided: Literal["pending", "approved", "rejected"] = "pending"


class SubmitJob(_Action):
    """Submit a training job now, or (`start_after_hours`) after moving the clock."""

    do: Literal["submit_job"]
    model: str
    namespace: str
    hours: float = 1.0
    start_after_hours: float = 0.0


class DeferJob(_Action):
    """Hold a queued job until some hours after the current virtual time."""

    do: Literal["defer_job"]
    job: str
    hours: float = Field(gt=0)


class PatchQueue(_Action):
    """Patch a Kueue ClusterQueue (preemption policy, lending/borrowing limits)."""

    do: Literal["patch_queue"]
    cluster_queue: str
    patch: QueuePatch


class Scale(_Action):
    """Set a deployment's replicas (0 = scale to zero)."""

    do: Literal["scale"]
    deployment: str
    """`namespace/name`."""
    replicas: int = Field(ge=0)


class ReportIncident(_Action):
    """Report an incident (monitor output)."""

    do: Literal["report_incident"]
    kind: str
    models: list[str] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list)
    pipeline: str | None = None


class ReportFinding(_Action):
    """Report a compliance finding."""

    do: Literal["report_finding"]
    policy_id: str
    subject: str
    status: str = "fail"


class Say(_Action):
    """Answer the chat question."""

    do: Literal["answer"]
    text: str
    entities: list[str] = Field(default_factory=list)


class Verdict(_Action):
    """Give a gate verdict on the proposed action."""

    do: Literal["verdict"]
    value: Literal["allow", "needs_approval", "deny"]
    policies: list[str] = Field(default_factory=list)


class Plan(_Action):
    """Report capacity-plan numbers."""

    do: Literal["plan"]
    values: dict[str, float]


class RevertChange(_Action):
    """Undo the model's latest serving (config/runtime) change."""

    do: Literal["revert_change"]
    model: str


Action = Annotated[
    RevertChange
    | SetAlias
    | Rollback
    | Retrain
    | OpenDataIncident
    | Watch
    | RequestApproval
    | SubmitJob
    | DeferJob
    | Scale
    | PatchQueue
    | ReportIncident
    | ReportFinding
    | Say
    | Verdict
    | Plan,
    Field(discriminator="do"),
]


class _World:
    """The reference solution's hands on the world (the same World every agent gets)."""

    def __init__(self, world: World, models_hit: Callable[[str], list[str]]) -> None:
        cluster = world.cluster
        assert isinstance(cluster, SimCluster), "reference solutions run on the twin"
        self.registry, self.twin = world.registry, cluster
        self.store, self.approvals, self.audit = world.runs, world.approvals, world.audit
        self.models_hit = models_hit

    def record(self, action: str, model: str | None, result: str) -> None:
        self.audit.append(
            "action", actor=ACTOR, model=model, data={"action": action, "result": result}
        )


def apply_actions(
    actions: list[Action], world: World, models_hit: Callable[[str], list[str]]
) -> AgentOutput:
    """Apply actions to the world; return the report-type ones as agent output.

    `models_hit(pipeline)` is the ground truth of an upstream break (for actions that name
    a pipeline but no models).
    """
    output = AgentOutput()
    hands = _World(world, models_hit)
    for number, action in enumerate(actions):
        _apply(action, hands, output, number)
    return output


def _apply(action: Action, w: _World, out: AgentOutput, n: int) -> None:  # noqa: C901
    now = w.twin.now()
    match action:
        case SetAlias():
            w.registry.set_alias(
                action.model, action.alias, action.version, actor=ACTOR, reason="ref"
            )
            w.record("set_alias", action.model, f"{action.alias} -> v{action.version}")
        case RevertChange():
            undone = revert_latest(w.twin, action.model, ACTOR)
            w.record("revert_change", action.model, undone.describe())
        case Rollback():
            target = rollback_target(w.registry, action.model)
            assert target is not None, f"{action.model} has nothing to roll back to"
            w.registry.set_alias(action.model, CHAMPION, target.version, actor=ACTOR, reason="ref")
            w.record("rollback", action.model, target.describe())
        case Retrain():
            _retrain(action, w, n)
        case OpenDataIncident():
            models = action.models or w.models_hit(action.pipeline)
            w.store.open_data_incident(f"ref-{n}", action.pipeline, models, None, "ref", now)
            w.store.quarantine(f"ref-{n}", models, now)
            w.record("open_data_incident", None, f"{len(models)} models")
        case Watch():
            w.store.watch(f"ref-{n}", action.models, now, 1.0)
        case RequestApproval():
            request = w.approvals.submit(
                NewRequest(
                    key=f"ref-{n}",
                    agent="remediation",
                    action=action.action,
                    actions=[],
                    models=action.models,
                    reasons=["ref"],
                    verdict="needs_approval",
                    proposer=ACTOR,
                    incident_id=f"ref-{n}",
                ),
                now,
                timedelta(days=3650),
            )
            if action.decided != "pending":
                w.approvals.decide(
                    request.id, "eval-human", action.decided == "approved", now, None
                )
        case SubmitJob():
            if action.start_after_hours:
                w.twin.advance(timedelta(hours=action.start_after_hours))
            w.twin.submit_job(_job(action.namespace, action.model, f"ref-{n}", action.hours))
            w.record("submit_job", action.model, action.namespace)
        case DeferJob():
            job = w.twin.defer_job(action.job, now + timedelta(hours=action.hours))
            w.record("defer_job", job.spec.model, f"{job.id} held {action.hours:g} h")
        case PatchQueue():
            cq = w.twin.patch_cluster_queue(action.cluster_queue, action.patch)
            w.record("patch_queue", f"ClusterQueue/{cq.name}", action.patch.describe())
        case Scale():
            namespace, name = action.deployment.split("/", 1)
            dep = w.twin.scale(namespace, name, action.replicas)
            w.record("scale", dep.model, f"{action.deployment} -> {action.replicas}")
        case ReportIncident():
            models = action.models or w.models_hit(action.pipeline or "")
            out.incidents.append(
                ReportedIncident(
                    kind=action.kind,
                    models=models,
                    features=action.features,
                    pipeline=action.pipeline,
                )
            )
        case ReportFinding():
            out.findings.append(
                ReportedFinding(
                    policy_id=action.policy_id, subject=action.subject, status=action.status
                )
            )
        case Say():
            out.answer = Answer(text=action.text, entities=action.entities)
        case Plan():
            out.plan.update(action.values)
        case Verdict():
            out.verdict = action.value


def _retrain(action: Retrain, w: _World, n: int) -> None:
    registered = w.registry.get_model(action.model)
    w.twin.submit_job(_job(training_namespace(registered), action.model, f"ref-{n}", 1.0))
    created = w.registry.create_version(
        action.model, NewVersion(metrics={"auc": 0.9}, description="reference challenger")
    )
    w.registry.set_alias(action.model, CHALLENGER, created.version, actor=ACTOR, reason="ref")
    if action.promote:
        w.registry.set_alias(action.model, CHAMPION, created.version, actor=ACTOR, reason="ref")
    w.record("retrain", action.model, f"v{created.version}")


def _job(namespace: str, model: str, key: str, hours: float) -> JobSpec:
    return JobSpec(
        namespace=namespace,
        model=model,
        gpu=TRAINING_REQUEST,
        duration_s=hours * 3600,
        idempotency_key=key,
        tolerations=[ENV_TAINT, TRAINING_TAINT],
    )
