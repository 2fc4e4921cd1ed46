"""Carrying out a plan, idempotently.

Every side effect has an idempotency key, so a step re-run after a crash (LangGraph re-runs
an interrupted node) never retrains, promotes or rolls back twice.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from agents.remediation.correlate import EventReader
from agents.remediation.gate import GateResult
from agents.remediation.plan import Action, RemediationPlan
from agents.remediation.promotion import PendingPromotion, check_promotable
from agents.remediation.trainers import (
    RUN_TAG,
    Comparison,
    TrainerChoice,
    TrainerFor,
    TrainingRequest,
)
from agents.remediation.trainers.versions import trained_version
from memory.approvals import ApprovalQueue, Decision
from memory.audit import AuditLog
from memory.incident_memory import IncidentMemory
from memory.remediation import RemediationStore
from tools.cluster.protocol import Cluster
from tools.cluster.serving import serve_version
from tools.domain import (
    ChangeKind,
    FeaturePipeline,
    RegisteredModel,
)
from tools.domain.events import ChangeEvent
from tools.domain.ownership import pipeline_owner, training_namespace
from tools.errors import LotsenError
from tools.policy import tags
from tools.policy.action import ActionKind, GateDecision, ProposedAction
from tools.policy.gate import ComplianceGate
from tools.registry import CHALLENGER, CHAMPION, ModelRegistry, rollback_target

ACTOR = "lotsen-remediation"
Reverter = Callable[[ChangeEvent, str, str], ChangeEvent]
"""(the change, actor, reason) -> the event that undid it."""
PROMOTION_MARGIN = 0.01
"""A challenger must beat the champion by this much on the same held-out data."""
WATCH_EVERY_HOURS = 1.0


class TrainingFailedError(LotsenError):
    """A training job failed, timed out or registered no version (recorded, not raised)."""


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
    trainers: TrainerFor
    """The trainer configured for a model (raises ConfigError when there is none)."""
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
    events: EventReader | None = None
    """Recorded changes to models between two times (None: no event stream)."""
    revert: Reverter | None = None
    """Undoes a serving change (None: this cluster cannot; a revert is a recorded failure)."""

    def compliance_gate(self) -> ComplianceGate:
        """The compliance gate over this world, at the world's clock."""
        return self.gate()


class ActionResult(BaseModel):
    """What happened to one model."""

    model: str
    ok: bool
    summary: str
    promotion: PendingPromotion | None = None
    """A winning challenger whose promotion waits for its own approval."""


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
                _guarded(world, plan, m, _retrain_step(plan, gate, m, carried, world, window))
                for m in plan.models
            ]
        case Action.REVERT_CHANGE:
            return [_guarded(world, plan, m, _revert_step(plan, m, world)) for m in plan.models]
        case Action.ROLLBACK:
            return [
                _guarded(
                    world,
                    plan,
                    m,
                    _rollback_step(plan, m, champions.get(m), carried, world, approval),
                )
                for m in plan.models
            ]


def _retrain_step(
    plan: RemediationPlan,
    gate: GateResult,
    model: str,
    models: Mapping[str, RegisteredModel],
    world: RemediationWorld,
    window: datetime,
) -> Callable[[], ActionResult]:
    return lambda: _retrain(plan, gate, _registered(world, models, model), world, window)


def _rollback_step(
    plan: RemediationPlan,
    model: str,
    champion: int | None,
    models: Mapping[str, RegisteredModel],
    world: RemediationWorld,
    approval: Decision | None,
) -> Callable[[], str]:
    return lambda: _rollback(plan, model, champion, models, world, approval)


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
    world: RemediationWorld,
    plan: RemediationPlan,
    model: str,
    step: Callable[[], str | ActionResult],
) -> ActionResult:
    try:
        done = step()
        return (
            done
            if isinstance(done, ActionResult)
            else ActionResult(model=model, ok=True, summary=done)
        )
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
    window: datetime,
) -> ActionResult:
    """Train (or find the version trained for this key), compare fresh, promote or not.

    The retrain's approval (if any) approved training only, so it is not taken here. A
    winning challenger whose promotion the gate allows is promoted here; one whose
    promotion needs a human is left at @challenger and returned as a `PendingPromotion` for
    its own request.

    The training job has ended before anything is compared or promoted; the challenger
    alias marks the challenger only while it waits for a decision (a sign-off or an
    approval): it is cleared when it is promoted and when it loses.
    """
    model = registered.name
    key = f"{plan.incident_id}:{model}:retrain"
    champion = registered.aliases.get(CHAMPION)
    choice = world.trainers(registered)
    version, job = _challenger_version(world, choice, registered, key, champion, window)
    compared = choice.scorer.compare(registered, champion, version)
    world.registry.set_alias(
        model,
        CHALLENGER,
        version,
        actor=ACTOR,
        reason=f"retrained for {plan.incident_id}",
        idempotency_key=f"{key}:challenger",
    )
    scores = _scores(compared, champion, version)
    pending: PendingPromotion | None = None
    wins = compared.champion is None or compared.challenger >= compared.champion + PROMOTION_MARGIN
    if not wins:
        _clear_challenger(world, model, version, f"lost to the champion in {plan.incident_id}")
        outcome = f"{scores}: does not beat the champion by {PROMOTION_MARGIN}; champion kept"
    elif model in gate.promotion_blocked:
        outcome = (
            f"challenger v{version} wins but promotion is blocked: "
            "substantial modification, needs sign-off"
        )
    elif (review := _promotion_review(world, plan, model, version)).verdict == "deny":
        refusal = "; ".join(review.reasons)
        outcome = f"challenger v{version} wins but the gate refuses its promotion: {refusal}"
    elif review.verdict == "needs_approval":
        # the retrain's approval covered training only: the promotion is its own request
        pending = PendingPromotion(
            model=model,
            version=version,
            champion=champion,
            job=job,
            key=key,
            metric=compared.metric,
            challenger_score=compared.challenger,
            champion_score=compared.champion,
            holdout=compared.holdout,
            holdout_rows=compared.holdout_rows,
            gate_reasons=review.reasons or ["the gate asks a human"],
        )
        outcome = f"{scores}: wins; its promotion waits for its own approval"
    else:
        _record_approval(world, model, version, None)
        world.registry.set_alias(
            model,
            CHAMPION,
            version,
            actor=ACTOR,
            reason=f"won the gate for {plan.incident_id}",
            idempotency_key=f"{key}:promote",
        )
        _clear_challenger(world, model, version, f"promoted to champion in {plan.incident_id}")
        serve_version(world.cluster, registered, version)
        outcome = f"{scores}: promoted to champion"
    summary = f"{choice.trainer.kind} training {job} (finished); {outcome}"
    extra = {"challenger": compared.challenger, "holdout_rows": float(compared.holdout_rows)}
    if compared.champion is not None:
        extra["champion"] = compared.champion
    _done(world, plan, model, "retrain", summary, extra=extra)
    return ActionResult(model=model, ok=True, summary=summary, promotion=pending)


def _scores(compared: Comparison, champion: int | None, version: int) -> str:
    """The two fresh scores, the versions and the held-out window, in one phrase."""
    theirs = (
        "no champion"
        if compared.champion is None
        else f"champion v{champion} ({compared.champion:.3f})"
    )
    return (
        f"challenger v{version} ({compared.challenger:.3f}) vs {theirs}, both scored now on "
        f"{compared.holdout} ({compared.holdout_rows} rows, {compared.metric})"
    )


def _challenger_version(
    world: RemediationWorld,
    choice: TrainerChoice,
    registered: RegisteredModel,
    key: str,
    champion: int | None,
    window: datetime,
) -> tuple[int, str]:
    """(The version trained for this key, the job that trained it); a failed job raises.

    A version already tagged with the key (a step re-run after a crash) is taken as it is.
    Otherwise the trainer runs (idempotent by the key) and waits for the job to end; a
    failed or timed-out job, or one that registered no version, is a `TrainingFailedError`.
    """
    model = registered.name
    found = trained_version(world.registry, choice.lookup, model, key)
    if found is not None:
        return found, f"for {key}"
    request = TrainingRequest(
        model=model,
        parent_version=champion,
        run_tag=key,
        window_start=window - choice.window,
        window_end=window,
        namespace=training_namespace(registered),
        timeout=choice.timeout,
    )
    ended = choice.trainer.run(request)
    if ended.status != "succeeded":
        detail = f": {ended.detail}" if ended.detail else ""
        raise TrainingFailedError(
            f"{choice.trainer.kind} training job {ended.job} {ended.status.replace('_', ' ')}"
            f"{detail}; nothing promoted"
        )
    found = trained_version(world.registry, choice.lookup, model, key)
    if found is None:
        raise TrainingFailedError(
            f"{choice.trainer.kind} training job {ended.job} succeeded but registered no "
            f"version of {model} from a run tagged {RUN_TAG}={key}; nothing promoted"
        )
    if not world.registry.get_version(model, found).tags.get(tags.CHANGE_KIND):
        world.registry.set_version_tag(
            model, found, tags.CHANGE_KIND, ChangeKind.RETRAIN_SAME_FEATURES.value
        )
    return found, ended.job


def _record_approval(
    world: RemediationWorld, model: str, version: int, approval: Decision | None
) -> None:
    """Record on the version what let Lotsen move an alias to it (before the move).

    A human decision always; without one, the gate's allow, unless the version already
    carries an earlier recorded approval (a rollback target keeps its release decision).
    """
    if approval is not None:
        world.registry.set_version_tag(model, version, tags.APPROVAL, approval.tag())
    elif not world.registry.get_version(model, version).tags.get(tags.APPROVAL):
        world.registry.set_version_tag(
            model, version, tags.APPROVAL, "gate: no policy requires a human"
        )


def _clear_challenger(world: RemediationWorld, model: str, version: int, reason: str) -> None:
    """Remove @challenger if it still marks `version` (a re-run finds it gone: nothing)."""
    if world.registry.get_model(model).aliases.get(CHALLENGER) == version:
        world.registry.delete_alias(model, CHALLENGER, actor=ACTOR, reason=reason)


def _promotion_review(
    world: RemediationWorld, plan: RemediationPlan, model: str, version: int
) -> GateDecision:
    """The compliance gate's review of promoting the challenger to @champion."""
    return world.compliance_gate().review(
        ProposedAction(
            kind=ActionKind.SET_ALIAS,
            proposer=ACTOR,
            model=model,
            version=version,
            alias=CHAMPION,
            detail=f"promote the winning challenger of {plan.incident_id}",
        )
    )


def _promotion_refused(
    world: RemediationWorld, plan: RemediationPlan, model: str, version: int
) -> str:
    """Why the compliance gate refuses to promote, or ""."""
    decision = _promotion_review(world, plan, model, version)
    return "; ".join(decision.reasons) if decision.verdict == "deny" else ""


def promote(
    pending: PendingPromotion,
    plan: RemediationPlan,
    world: RemediationWorld,
    approval: Decision,
    models: Mapping[str, RegisteredModel],
) -> ActionResult:
    """Promote an approved challenger (only after its job finished; failures are recorded)."""

    def step() -> str:
        check_promotable(
            pending, world.cluster, lambda m: world.registry.get_model(m).aliases.get(CHALLENGER)
        )
        if refusal := _promotion_refused(world, plan, pending.model, pending.version):
            raise LotsenError(f"the gate refuses the promotion: {refusal}")
        _record_approval(world, pending.model, pending.version, approval)
        world.registry.set_alias(
            pending.model,
            CHAMPION,
            pending.version,
            actor=ACTOR,
            reason=f"promotion approved by {approval.by} ({approval.request_id}) "
            f"for {plan.incident_id}",
            idempotency_key=f"{pending.key}:promote",
        )
        _clear_challenger(
            world, pending.model, pending.version, f"promoted to champion in {plan.incident_id}"
        )
        serve_version(world.cluster, _registered(world, models, pending.model), pending.version)
        summary = f"{pending.scores()}: promoted to champion (approved by {approval.by})"
        _done(world, plan, pending.model, "promote", summary)
        return summary

    return _guarded(world, plan, pending.model, step)


def _revert_step(plan: RemediationPlan, model: str, world: RemediationWorld) -> Callable[[], str]:
    return lambda: _revert_change(plan, model, world)


def _revert_change(plan: RemediationPlan, model: str, world: RemediationWorld) -> str:
    """Undo the serving change the incident follows (the model version stays)."""
    event = plan.cause_event
    if event is None or event.model != model:
        raise LotsenError(f"no recorded change of {model} to revert")
    if world.revert is None:
        raise LotsenError(f"this cluster cannot revert {event.id}; revert it by hand")
    undone = world.revert(event, ACTOR, f"revert {event.id} for {plan.incident_id}")
    summary = f"reverted {event.describe()} as {undone.id}"
    _done(world, plan, model, "revert_change", summary)
    return summary


def _rollback(
    plan: RemediationPlan,
    model: str,
    champion: int | None,
    models: Mapping[str, RegisteredModel],
    world: RemediationWorld,
    approval: Decision | None,
) -> str:
    if champion is None:
        raise LotsenError(f"{model} had no champion when the plan was made; nothing to roll back")
    target = rollback_target(world.registry, model, champion)
    if target is None:
        raise LotsenError(f"{model} has no version before v{champion} to roll back to")
    _record_approval(world, model, target.version, approval)
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
