"""Carrying out a plan, idempotently.

Every side effect has an idempotency key, so a step re-run after a crash (LangGraph re-runs
an interrupted node) never retrains, promotes or rolls back twice.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from agents.remediation.gate import GateResult
from agents.remediation.plan import Action, RemediationPlan
from agents.remediation.trainer import Trainer
from memory.approvals import ApprovalQueue, Decision
from memory.audit import AuditLog
from memory.incident_memory import IncidentMemory
from memory.remediation import RemediationStore
from tools.cluster.protocol import Cluster
from tools.cluster.serving import serve_version
from tools.domain import (
    ChangeKind,
    Environment,
    FeaturePipeline,
    JobSpec,
    Lineage,
    NewVersion,
    RegisteredModel,
)
from tools.domain.ownership import pipeline_owner, training_namespace
from tools.errors import LotsenError
from tools.fleet.layout import ENV_TAINT, TRAINING_REQUEST, TRAINING_TAINT
from tools.policy import tags
from tools.policy.action import ActionKind, ProposedAction
from tools.policy.gate import ComplianceGate
from tools.registry import CHALLENGER, CHAMPION, ModelRegistry, rollback_target

ACTOR = "lotsen-remediation"
KEY_TAG = "lotsen.idempotency_key"
PROMOTION_MARGIN = 0.01
"""A challenger must beat the champion by this much on the same held-out data."""
WATCH_EVERY_HOURS = 1.0


@dataclass
class RemediationWorld:
    """The workflow's port on the world: what it may read and change."""

    registry: ModelRegistry
    cluster: Cluster
    audit: AuditLog
    store: RemediationStore
    """Runs, data incidents, quarantine, watch list."""
    approvals: ApprovalQueue
    """The one approval queue (shared with every agent)."""
    trainer: Trainer
    clock: Callable[[], datetime]
    """The world's clock (virtual on the twin)."""
    gate: Callable[[], ComplianceGate]
    """The world's gate factory: one policy source, the world's clock."""
    memory: IncidentMemory | None = None
    """Past incidents and runbooks, retrieved as evidence (optional)."""
    approval_ttl: timedelta = timedelta(hours=24)
    """How long an approval request stays open."""
    pipelines: Sequence[FeaturePipeline] = ()
    """The fleet catalogue's feature pipelines (who owns which; may be empty)."""

    def compliance_gate(self) -> ComplianceGate:
        """The compliance gate over this world, at the world's clock."""
        return self.gate()


class ActionResult(BaseModel):
    """What happened to one model."""

    model: str
    ok: bool
    summary: str


def execute(
    plan: RemediationPlan,
    gate: GateResult,
    champions: dict[str, int],
    world: RemediationWorld,
    *,
    pipeline: str | None,
    window: datetime,
    cause: str,
    approval: Decision | None = None,
    models: Mapping[str, RegisteredModel] | None = None,
) -> list[ActionResult]:
    """Run the plan's action for each model; failures are recorded, not raised.

    `champions` and `models` are what the plan was decided on (the decide step's one read
    of each model). Only what cannot have changed under the run is taken from them: a
    model's owner and environment (its namespaces), its feature list, and the champion the
    plan was made against (the version a rollback undoes, the parent of a retrain: a step
    re-run after a crash must see the same one, not the version it promoted itself).
    Anything the run changes is read fresh: versions (the idempotency key's lookup), and
    the promotion's gate review (the run moved @challenger and added a version). A model
    missing from `models` (a checkpoint of an older Lotsen) is read when it is needed.
    """
    carried = models or {}
    match plan.action:
        case Action.OPEN_DATA_INCIDENT:
            return [_open_data_incident(plan, world, pipeline, window, cause)]
        case Action.WATCH:
            world.store.watch(plan.incident_id, plan.models, world.clock(), WATCH_EVERY_HOURS)
            return [
                _done(world, plan, m, "watch", f"scan every {WATCH_EVERY_HOURS:g} h, no change")
                for m in plan.models
            ]
        case Action.RETRAIN | Action.RETRAIN_WITH_REVIEW:
            return [
                _guarded(world, plan, m, _retrain_step(plan, gate, m, carried, world, approval))
                for m in plan.models
            ]
        case Action.ROLLBACK:
            return [
                _guarded(world, plan, m, _rollback_step(plan, m, champions.get(m), carried, world))
                for m in plan.models
            ]


def _retrain_step(
    plan: RemediationPlan,
    gate: GateResult,
    model: str,
    models: Mapping[str, RegisteredModel],
    world: RemediationWorld,
    approval: Decision | None,
) -> Callable[[], str]:
    return lambda: _retrain(plan, gate, _registered(world, models, model), world, approval)


def _rollback_step(
    plan: RemediationPlan,
    model: str,
    champion: int | None,
    models: Mapping[str, RegisteredModel],
    world: RemediationWorld,
) -> Callable[[], str]:
    return lambda: _rollback(plan, model, champion, models, world)


def _registered(
    world: RemediationWorld, models: Mapping[str, RegisteredModel], model: str
) -> RegisteredModel:
    """The model as the plan was decided on, or (not carried) as the registry has it now."""
    return models[model] if model in models else world.registry.get_model(model)


def _open_data_incident(
    plan: RemediationPlan,
    world: RemediationWorld,
    pipeline: str | None,
    window: datetime,
    cause: str,
) -> ActionResult:
    # the pipeline's owner from the catalogue; without one (an attached registry), the
    # owner of the models it feeds
    owner = pipeline_owner(pipeline, world.pipelines) if pipeline else None
    if owner is None:
        owner = world.registry.get_model(plan.models[0]).owner
    world.store.open_data_incident(
        plan.incident_id, pipeline, plan.models, owner, cause, world.clock()
    )
    world.store.quarantine(plan.incident_id, plan.models, window)
    summary = (
        f"data incident opened for {owner} ({len(plan.models)} models); "
        "window quarantined; no retrain"
    )
    return _done(world, plan, None, "data_incident", summary)


def _guarded(
    world: RemediationWorld, plan: RemediationPlan, model: str, step: Callable[[], str]
) -> ActionResult:
    try:
        return ActionResult(model=model, ok=True, summary=step())
    except LotsenError as exc:
        world.audit.append(
            "action_failed",
            actor=ACTOR,
            model=model,
            incident=plan.incident_id,
            data={"action": plan.action.value, "error": str(exc)},
        )
        return ActionResult(model=model, ok=False, summary=f"failed: {exc}")


def _retrain(
    plan: RemediationPlan,
    gate: GateResult,
    registered: RegisteredModel,
    world: RemediationWorld,
    approval: Decision | None,
) -> str:
    model = registered.name
    key = f"{plan.incident_id}:{model}:retrain"
    champion = registered.aliases.get(CHAMPION)
    job = world.cluster.submit_job(
        JobSpec(
            namespace=training_namespace(registered),
            model=model,
            gpu=TRAINING_REQUEST,
            duration_s=3600,
            idempotency_key=key,
            tolerations=[ENV_TAINT, TRAINING_TAINT],
        )
    )
    version, result = _challenger_version(world, registered, key, champion)
    world.registry.set_alias(
        model,
        CHALLENGER,
        version,
        actor=ACTOR,
        reason=f"retrained for {plan.incident_id}",
        idempotency_key=f"{key}:challenger",
    )
    wins = result["challenger"] >= result["champion"] + PROMOTION_MARGIN
    if not wins:
        outcome = (
            f"challenger v{version} ({result['challenger']:.3f}) does not beat champion "
            f"({result['champion']:.3f}) by {PROMOTION_MARGIN}; champion kept"
        )
    elif model in gate.promotion_blocked:
        outcome = (
            f"challenger v{version} wins but promotion is blocked: "
            "substantial modification, needs sign-off"
        )
    elif refusal := _promotion_refused(world, plan, model, version, gate, approval):
        outcome = f"challenger v{version} wins but the gate refuses its promotion: {refusal}"
    else:
        world.registry.set_version_tag(
            model,
            version,
            tags.APPROVAL,
            approval.tag() if approval else "gate: no policy requires a human",
        )
        world.registry.set_alias(
            model,
            CHAMPION,
            version,
            actor=ACTOR,
            reason=f"won the gate for {plan.incident_id}",
            idempotency_key=f"{key}:promote",
        )
        serve_version(world.cluster, registered, version)
        outcome = (
            f"challenger v{version} ({result['challenger']:.3f}) beat champion v{champion} "
            f"({result['champion']:.3f}); promoted to champion"
        )
    summary = f"training job {job.id} ({job.status.value}); {outcome}"
    _done(world, plan, model, "retrain", summary, extra=result)
    return summary


def _challenger_version(
    world: RemediationWorld, registered: RegisteredModel, key: str, champion: int | None
) -> tuple[int, dict[str, float]]:
    """The version trained for this key (trained now, or found after a crash)."""
    model = registered.name
    for existing in world.registry.all_versions(model):  # tags only: one query
        if existing.tags.get(KEY_TAG) == key:
            metrics = world.registry.get_version(model, existing.version).metrics
            return existing.version, {
                "challenger": metrics["auc"],
                "champion": metrics["champion_auc_same_holdout"],
            }
    features = len(registered.tags.get("features", "").split(","))
    trained = world.trainer.train(model, features, relation_changed=True)
    metrics = {"auc": trained.challenger, "champion_auc_same_holdout": trained.champion}
    created = world.registry.create_version(
        model,
        NewVersion(
            metrics=metrics,
            tags={
                KEY_TAG: key,
                tags.DATA_CHECKS: "passed",
                tags.CHANGE_KIND: ChangeKind.RETRAIN_SAME_FEATURES.value,
            },
            lineage=Lineage(
                training_data=f"recent window ({trained.train_rows} rows)",
                parent_version=champion,
                code_version="synthetic-trainer",
                promoted_from=Environment.TEST if registered.env is Environment.PROD else None,
            ),
            description=f"challenger trained by Lotsen ({key})",
        ),
    )
    return created.version, {"challenger": trained.challenger, "champion": trained.champion}


def _promotion_refused(
    world: RemediationWorld,
    plan: RemediationPlan,
    model: str,
    version: int,
    gate: GateResult,
    approval: Decision | None,
) -> str:
    """Why the compliance gate refuses to promote, or "" (a human approval covers asks)."""
    decision = world.compliance_gate().review(
        ProposedAction(
            kind=ActionKind.SET_ALIAS,
            proposer=ACTOR,
            model=model,
            version=version,
            alias=CHAMPION,
            detail=f"promote the winning challenger of {plan.incident_id}",
        )
    )
    if decision.verdict == "deny":
        return "; ".join(decision.reasons)
    if decision.verdict == "needs_approval" and not approval:
        return "needs a human approval the plan did not get: " + "; ".join(decision.reasons)
    return ""


def _rollback(
    plan: RemediationPlan,
    model: str,
    champion: int | None,
    models: Mapping[str, RegisteredModel],
    world: RemediationWorld,
) -> str:
    if champion is None:
        raise LotsenError(f"{model} had no champion when the plan was made; nothing to roll back")
    target = rollback_target(world.registry, model, champion)
    if target is None:
        raise LotsenError(f"{model} has no version before v{champion} to roll back to")
    world.registry.set_alias(
        model,
        CHAMPION,
        target.version,
        actor=ACTOR,
        reason=f"rollback for {plan.incident_id}",
        idempotency_key=f"{plan.incident_id}:{model}:rollback",
    )
    serve_version(world.cluster, _registered(world, models, model), target.version)
    summary = f"champion rolled back {target.describe()}"
    _done(world, plan, model, "rollback", summary)
    return summary


def _done(
    world: RemediationWorld,
    plan: RemediationPlan,
    model: str | None,
    step: str,
    summary: str,
    extra: dict[str, float] | None = None,
) -> ActionResult:
    world.audit.append(
        "action",
        actor=ACTOR,
        model=model,
        incident=plan.incident_id,
        idempotency_key=f"{plan.incident_id}:{model or '*'}:{step}",
        data={"action": plan.action.value, "result": summary, **(extra or {})},
    )
    return ActionResult(model=model or "*", ok=True, summary=summary)
