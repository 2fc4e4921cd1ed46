"""The remediation executor's rules, one at a time, on a small hand-made world.

Two models of team growth on an empty MLflow registry and a tiny twin (tests/support/
twin_specs.py): churn-0001 serves in prod, churn-0002 in dev. Training goes through
`TeamTrainer`, which registers the version a team's training would (or fails as told), and
`FixedScores` scores the pair as told; the compliance gate is the real one without
platform policies (only its model rules: prod and high-risk ask a human, a version without
passed data checks or, in prod, not validated in test is denied). Each test asserts what
the executor left behind: aliases and their history, version tags, the twin's
deployments, the remediation store and the audit log.
"""

import atexit
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest

from agents.remediation.executor import (
    ACTOR,
    PROMOTION_MARGIN,
    ActionResult,
    RemediationWorld,
    execute,
    promote,
)
from agents.remediation.gate import GateResult
from agents.remediation.plan import Action, RemediationPlan
from agents.remediation.promotion import PendingPromotion
from agents.remediation.trainers import (
    RUN_TAG,
    Comparison,
    TrainerChoice,
    TrainingOutcome,
    TrainingRequest,
)
from memory.approvals import ApprovalQueue, Decision
from memory.audit import AuditLog, AuditRecord
from memory.remediation import RemediationStore
from tests.support.twin_specs import L4_SHARED, START, deployment, mig_request, tiny_spec
from tools.cluster.sim import SimCluster
from tools.domain import (
    Environment,
    FeaturePipeline,
    Lineage,
    NewModel,
    NewVersion,
    RegisteredModel,
)
from tools.domain.events import ChangeEvent, EventKind
from tools.errors import ConfigError
from tools.policy import tags
from tools.policy.gate import ComplianceGate
from tools.registry import CHALLENGER, CHAMPION, AliasHistory, MlflowRegistry, sqlite_uri

PROD = "churn-0001"
DEV = "churn-0002"
WINDOW = datetime(2026, 11, 1, tzinfo=UTC)
CHAMPION_SCORE = 0.5


class TeamTrainer:
    """Registers the version a team's training job would, or ends as told."""

    kind = "team"

    def __init__(self, registry: MlflowRegistry) -> None:
        """Succeeds and registers a passed, test-validated version unless told otherwise."""
        self.registry = registry
        self.requests: list[TrainingRequest] = []
        self.status: Literal["succeeded", "failed", "timed_out"] = "succeeded"
        self.detail = ""
        self.registers = True
        self.tags_version = True
        """False: only the training run carries the run tag (found by the lookup)."""
        self.version_tags: dict[str, str] = {tags.DATA_CHECKS: "passed"}

    def run(self, request: TrainingRequest) -> TrainingOutcome:
        """Record the request; register a version tagged with its run tag (if told to)."""
        self.requests.append(request)
        if self.status == "succeeded" and self.registers:
            self.registry.create_version(
                request.model,
                NewVersion(
                    tags={RUN_TAG: request.run_tag, **self.version_tags}
                    if self.tags_version
                    else self.version_tags,
                    lineage=Lineage(promoted_from=Environment.TEST),
                ),
            )
        return TrainingOutcome(status=self.status, job="job-7", detail=self.detail)


@dataclass
class FixedScores:
    """The challenger scores `lead` above the champion (no champion: `champion` None)."""

    lead: float
    champion: float | None = CHAMPION_SCORE
    asked: list[tuple[str, int | None, int]] = field(default_factory=list)

    def compare(self, model: RegisteredModel, champion: int | None, challenger: int) -> Comparison:
        """The fixed scores, recording which versions were compared."""
        self.asked.append((model.name, champion, challenger))
        return Comparison(
            metric="auc",
            champion=self.champion,
            challenger=(self.champion or CHAMPION_SCORE) + self.lead,
            holdout_rows=120,
            holdout="window 2026-11",
        )


@dataclass
class Setup:
    """The world and the parts a test reads back."""

    world: RemediationWorld
    registry: MlflowRegistry
    history: AliasHistory
    twin: SimCluster
    trainer: TeamTrainer
    scores: FixedScores
    reverted: list[tuple[ChangeEvent, str, str]]

    def train_with(self, window: timedelta, timeout: timedelta) -> None:
        """Retrains through the trainer and scores with this window and timeout."""
        picked = TrainerChoice(self.trainer, self.scores, window=window, timeout=timeout)
        self.world = replace(self.world, trainers=lambda _: picked)

    def champion(self, model: str) -> int | None:
        return self.registry.get_model(model).aliases.get(CHAMPION)

    def challenger(self, model: str) -> int | None:
        return self.registry.get_model(model).aliases.get(CHALLENGER)

    def served(self, model: str) -> int:
        namespace = "growth-prod" if model == PROD else "growth-dev"
        return self.twin.deployment(namespace, model).model_version

    def moves(self, model: str) -> list[tuple[str, int | None, int | None, str, str]]:
        """(alias, from, to, actor, reason) of every recorded alias move, in order."""
        return [
            (c.alias, c.old_version, c.new_version, c.actor, c.reason)
            for c in self.registry.alias_history(model)
        ]

    def actions(self) -> list[AuditRecord]:
        return [r for r in self.world.audit.records() if r.kind.startswith("action")]


def register(registry: MlflowRegistry, name: str, env: Environment, versions: int) -> None:
    """A model with `versions` passed, test-validated versions; champion the last one."""
    registry.register_model(
        NewModel(name=name, owner="growth", env=env, pipeline="growth-features-00")
    )
    for _ in range(versions):
        registry.create_version(
            name,
            NewVersion(
                tags={tags.DATA_CHECKS: "passed"}, lineage=Lineage(promoted_from=Environment.TEST)
            ),
        )
    registry.set_alias(name, CHAMPION, versions, actor="ci", reason="release")


@functools.cache
def seeded_registry() -> Path:
    """The two models' registry files, built once per process; tests open copies.

    Not a session fixture: the mutation runner's workers are forked from the process that
    ran the tests once, and inherit this cache (a fixture would migrate MLflow's schema
    and register the models again in every worker).
    """
    folder = Path(tempfile.mkdtemp(prefix="lotsen-executor-rules-"))
    atexit.register(_remove, folder, os.getpid())
    history = AliasHistory(folder / "alias_history.db")
    registry = MlflowRegistry(sqlite_uri(folder / "mlflow.db"), history, folder / "artifacts")
    register(registry, PROD, Environment.PROD, versions=2)
    register(registry, DEV, Environment.DEV, versions=2)
    history.close()
    return folder


def _remove(folder: Path, owner: int) -> None:
    if os.getpid() == owner:  # not in a forked worker: the files are its parent's
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    for name in ("mlflow.db", "alias_history.db"):
        shutil.copy(seeded_registry() / name, tmp_path / name)
    history = AliasHistory(tmp_path / "alias_history.db")
    registry = MlflowRegistry(sqlite_uri(tmp_path / "mlflow.db"), history, tmp_path / "artifacts")
    twin = SimCluster.create(
        tmp_path / "twin.db",
        tiny_spec(
            [
                deployment(PROD, "growth-prod", Environment.PROD, mig_request("1g.10gb"),
                           model_version=2),
                deployment(DEV, "growth-dev", Environment.DEV, L4_SHARED, model_version=2),
                # a second server of the prod model, in dev: where a carried model serves
                deployment(PROD, "growth-dev", Environment.DEV, L4_SHARED, model_version=2),
            ]
        ),
    )  # fmt: skip
    audit = AuditLog(tmp_path / "audit.db")
    store = RemediationStore(tmp_path / "runs.db")
    approvals = ApprovalQueue(tmp_path / "approvals.db")
    trainer = TeamTrainer(registry)
    scores = FixedScores(lead=2 * PROMOTION_MARGIN)
    reverted: list[tuple[ChangeEvent, str, str]] = []

    def revert(event: ChangeEvent, actor: str, reason: str) -> ChangeEvent:
        reverted.append((event, actor, reason))
        return event.model_copy(update={"id": "evt-undo", "before": event.after})

    world = RemediationWorld(
        registry=registry,
        cluster=twin,
        audit=audit,
        store=store,
        approvals=approvals,
        trainers=lambda _: TrainerChoice(trainer, scores),
        clock=lambda: START,
        gate=lambda: ComplianceGate(registry, twin, policies=[], now=START),
        pipelines=[
            FeaturePipeline(
                name="growth-features-00", owner="data-eng", source="kafka", features=()
            )
        ],
        revert=revert,
    )
    yield Setup(world, registry, history, twin, trainer, scores, reverted)
    history.close()
    audit.close()
    store.close()


def plan_for(action: Action, *models: str, cause: ChangeEvent | None = None) -> RemediationPlan:
    return RemediationPlan(
        incident_id="inc-7",
        incident_kind="drift_with_performance_drop",
        action=action,
        models=list(models),
        reason="test",
        decided_by="tier0",
        cause_event=cause,
    )


def run(
    s: Setup,
    action: Action,
    *models: str,
    gate: GateResult | None = None,
    approval: Decision | None = None,
    pipeline: str | None = None,
    carried: dict[str, RegisteredModel] | None = None,
    cause: ChangeEvent | None = None,
    champion: int = 2,
) -> list[ActionResult]:
    return execute(
        plan_for(action, *models, cause=cause),
        gate or GateResult(verdict="allow"),
        dict.fromkeys(models, champion),
        s.world,
        pipeline=pipeline,
        window=WINDOW,
        cause="feature a is null upstream",
        approval=approval,
        models=carried,
    )


def scores_phrase(version: int, lead: float) -> str:
    return (
        f"challenger v{version} ({CHAMPION_SCORE + lead:.3f}) vs champion v2 "
        f"({CHAMPION_SCORE:.3f}), both scored now on window 2026-11 (120 rows, auc)"
    )


def approval(by: str = "alice") -> Decision:
    return Decision(request_id="apr-9", approved=True, by=by, at=START)


# --- watch and data incidents -------------------------------------------------------------


def test_watch_scans_every_model_hourly_and_changes_nothing(setup: Setup) -> None:
    results = run(setup, Action.WATCH, PROD, DEV)
    summary = "scan every 1 h, no change"
    assert results == [
        ActionResult(model=PROD, ok=True, summary=summary),
        ActionResult(model=DEV, ok=True, summary=summary),
    ]
    assert setup.world.store.watch_intervals() == {PROD: 1.0, DEV: 1.0}
    assert [(r.model, r.idempotency_key, r.data) for r in setup.actions()] == [
        (m, f"inc-7:{m}:watch", {"action": "watch", "result": summary}) for m in (PROD, DEV)
    ]
    assert (setup.champion(PROD), setup.challenger(PROD)) == (2, None)


def test_a_data_incident_goes_to_the_catalogue_owner_and_quarantines_the_window(
    setup: Setup,
) -> None:
    [result] = run(setup, Action.OPEN_DATA_INCIDENT, PROD, DEV, pipeline="growth-features-00")
    summary = "data incident opened for data-eng (2 models); window quarantined; no retrain"
    assert result == ActionResult(model="*", ok=True, summary=summary)
    [opened] = setup.world.store.data_incidents()
    assert (opened.id, opened.pipeline, opened.models, opened.owner, opened.cause) == (
        "inc-7",
        "growth-features-00",
        [PROD, DEV],
        "data-eng",
        "feature a is null upstream",
    )
    assert opened.opened_at == START
    assert sorted(setup.world.store.quarantined()) == [
        (PROD, WINDOW.isoformat()),
        (DEV, WINDOW.isoformat()),
    ]
    [record] = setup.actions()
    assert (record.kind, record.actor, record.model, record.incident) == (
        "action",
        ACTOR,
        None,
        "inc-7",
    )
    assert record.idempotency_key == "inc-7:*:data_incident"
    assert record.data == {"action": "open_data_incident", "result": summary}


@pytest.mark.parametrize("pipeline", [None, "not-in-the-catalogue"])
def test_without_a_catalogue_owner_the_first_models_owner_is_told(
    setup: Setup, pipeline: str | None
) -> None:
    setup.registry.register_model(
        NewModel(name="risk-0003", owner="risk", env=Environment.DEV, pipeline="p")
    )
    [result] = run(setup, Action.OPEN_DATA_INCIDENT, "risk-0003", PROD, pipeline=pipeline)
    assert result.summary.startswith("data incident opened for risk (2 models)")
    [opened] = setup.world.store.data_incidents()
    assert (opened.owner, opened.pipeline) == ("risk", pipeline)


# --- retrain: the challenger gate ---------------------------------------------------------


def test_a_winner_by_exactly_the_margin_is_promoted_and_served(setup: Setup) -> None:
    setup.scores.lead = PROMOTION_MARGIN
    [result] = run(setup, Action.RETRAIN, DEV)
    summary = f"team training job-7 (finished); {scores_phrase(3, PROMOTION_MARGIN)}: promoted"
    assert result == ActionResult(model=DEV, ok=True, summary=summary + " to champion")
    assert (setup.champion(DEV), setup.challenger(DEV), setup.served(DEV)) == (3, None, 3)
    assert setup.moves(DEV)[1:] == [
        (CHALLENGER, None, 3, ACTOR, "retrained for inc-7"),
        (CHAMPION, 2, 3, ACTOR, "won the gate for inc-7"),
        (CHALLENGER, 3, None, ACTOR, "promoted to champion in inc-7"),
    ]
    assert setup.history.find("inc-7:churn-0002:retrain:challenger") is not None
    assert setup.history.find("inc-7:churn-0002:retrain:promote") is not None
    version = setup.registry.get_version(DEV, 3)
    assert version.tags[tags.APPROVAL] == "gate: no policy requires a human"
    assert setup.scores.asked == [(DEV, 2, 3)]
    [record] = setup.actions()
    assert (record.kind, record.model, record.idempotency_key) == (
        "action",
        DEV,
        "inc-7:churn-0002:retrain",
    )
    assert record.data == {
        "action": "retrain",
        "result": result.summary,
        "challenger": CHAMPION_SCORE + PROMOTION_MARGIN,
        "holdout_rows": 120.0,
        "champion": CHAMPION_SCORE,
    }


def test_a_challenger_short_of_the_margin_loses_and_leaves_no_alias(setup: Setup) -> None:
    setup.scores.lead = PROMOTION_MARGIN / 2
    [result] = run(setup, Action.RETRAIN_WITH_REVIEW, DEV)
    assert result.ok and result.promotion is None
    assert result.summary == (
        f"team training job-7 (finished); {scores_phrase(3, PROMOTION_MARGIN / 2)}: "
        f"does not beat the champion by {PROMOTION_MARGIN}; champion kept"
    )
    assert (setup.champion(DEV), setup.challenger(DEV), setup.served(DEV)) == (2, None, 2)
    assert setup.moves(DEV)[-1] == (CHALLENGER, 3, None, ACTOR, "lost to the champion in inc-7")
    assert tags.APPROVAL not in setup.registry.get_version(DEV, 3).tags
    assert setup.actions()[0].data["action"] == "retrain_with_review"


def test_a_challenger_below_the_champion_loses(setup: Setup) -> None:
    setup.scores.lead = -PROMOTION_MARGIN / 2
    [result] = run(setup, Action.RETRAIN, DEV)
    assert "does not beat the champion" in result.summary
    assert setup.champion(DEV) == 2


def test_without_a_champion_score_the_challenger_wins(setup: Setup) -> None:
    setup.scores.champion = None
    setup.scores.lead = 0.0
    [result] = run(setup, Action.RETRAIN, DEV)
    assert result.summary == (
        "team training job-7 (finished); challenger v3 (0.500) vs no champion, both scored "
        "now on window 2026-11 (120 rows, auc): promoted to champion"
    )
    assert setup.champion(DEV) == 3
    assert "champion" not in setup.actions()[0].data


def test_each_model_retrains_with_its_own_trainer(setup: Setup) -> None:
    """A model without a configured trainer is a recorded failure; the others go on."""
    dev = TrainerChoice(setup.trainer, setup.scores)

    def trainer_for(model: RegisteredModel) -> TrainerChoice:
        if model.name != DEV:
            raise ConfigError(f"no trainer configured for {model.name}")
        return dev

    setup.world = replace(setup.world, trainers=trainer_for)
    results = run(setup, Action.RETRAIN, PROD, DEV)
    assert results[0] == ActionResult(
        model=PROD, ok=False, summary="failed: no trainer configured for churn-0001"
    )
    assert results[1].ok and setup.champion(DEV) == 3
    assert [r.model for r in setup.trainer.requests] == [DEV]


def test_the_training_request_carries_the_key_window_parent_and_namespace(setup: Setup) -> None:
    setup.train_with(window=timedelta(days=9), timeout=timedelta(minutes=40))
    run(setup, Action.RETRAIN, DEV)
    assert setup.trainer.requests == [
        TrainingRequest(
            model=DEV,
            parent_version=2,
            run_tag="inc-7:churn-0002:retrain",
            window_start=WINDOW - timedelta(days=9),
            window_end=WINDOW,
            namespace="growth-test",
            timeout=timedelta(minutes=40),
        )
    ]
    # the trainer's version carried no change kind: a same-features retrain is recorded
    assert setup.registry.get_version(DEV, 3).tags[tags.CHANGE_KIND] == "retrain_same_features"


def test_a_change_kind_the_training_recorded_is_kept(setup: Setup) -> None:
    setup.trainer.version_tags[tags.CHANGE_KIND] = "retrain_new_data"
    run(setup, Action.RETRAIN, DEV)
    assert setup.registry.get_version(DEV, 3).tags[tags.CHANGE_KIND] == "retrain_new_data"


def test_a_rerun_finds_the_version_trained_for_its_key_and_trains_nothing(setup: Setup) -> None:
    setup.scores.lead = PROMOTION_MARGIN / 2  # lost: a re-run repeats the comparison
    run(setup, Action.RETRAIN, DEV)
    [again] = run(setup, Action.RETRAIN, DEV)
    assert len(setup.trainer.requests) == 1
    assert again.summary.startswith(
        "team training for inc-7:churn-0002:retrain (finished); challenger v3 "
    )
    assert [v.version for v in setup.registry.all_versions(DEV)] == [1, 2, 3]


KEY = "inc-7:churn-0002:retrain"


def lookup_by_run(setup: Setup) -> list[tuple[str, str]]:
    """Retrain with a run-tag lookup that finds DEV's v3 once it exists; returns its calls."""
    asked: list[tuple[str, str]] = []

    def lookup(model: str, run_tag: str) -> list[int]:
        asked.append((model, run_tag))
        versions = [v.version for v in setup.registry.all_versions(DEV)]
        return [3] if (model, run_tag) == (DEV, KEY) and 3 in versions else []

    picked = TrainerChoice(setup.trainer, setup.scores, lookup=lookup)
    setup.world = replace(setup.world, trainers=lambda _: picked)
    return asked


def test_a_version_found_by_its_training_run_is_not_trained_again(setup: Setup) -> None:
    """A crashed step's job registered v3 untagged; only its MLflow run carries the key."""
    setup.registry.create_version(DEV, NewVersion(tags={tags.DATA_CHECKS: "passed"}))
    asked = lookup_by_run(setup)
    [result] = run(setup, Action.RETRAIN, DEV)
    assert setup.trainer.requests == []
    assert asked == [(DEV, KEY)]
    assert result.summary.startswith(f"team training for {KEY} (finished); challenger v3 ")
    assert setup.registry.get_version(DEV, 3).tags[RUN_TAG] == KEY
    assert setup.champion(DEV) == 3


def test_a_version_the_job_registered_untagged_is_found_by_its_run(setup: Setup) -> None:
    setup.trainer.tags_version = False
    asked = lookup_by_run(setup)
    [result] = run(setup, Action.RETRAIN, DEV)
    assert len(setup.trainer.requests) == 1
    assert asked == [(DEV, KEY), (DEV, KEY)]
    assert result.summary.startswith("team training job-7 (finished); challenger v3 ")
    assert setup.registry.get_version(DEV, 3).tags[RUN_TAG] == KEY
    assert setup.champion(DEV) == 3


@pytest.mark.parametrize(
    ("status", "detail", "error"),
    [
        ("failed", "", "team training job job-7 failed; nothing promoted"),
        ("timed_out", "still queued", "team training job job-7 timed out: still queued; "),
    ],
)
def test_a_failed_training_job_is_a_recorded_failure(
    setup: Setup, status: Literal["failed", "timed_out"], detail: str, error: str
) -> None:
    setup.trainer.status, setup.trainer.detail = status, detail
    [result] = run(setup, Action.RETRAIN, DEV)
    assert not result.ok
    assert result.summary.startswith(f"failed: {error}")
    assert result.summary.endswith("nothing promoted")
    [record] = setup.actions()
    assert (record.kind, record.actor, record.model, record.incident) == (
        "action_failed",
        ACTOR,
        DEV,
        "inc-7",
    )
    assert record.data == {"action": "retrain", "error": result.summary.removeprefix("failed: ")}
    assert (setup.champion(DEV), setup.challenger(DEV)) == (2, None)


def test_a_job_that_registered_nothing_is_a_recorded_failure(setup: Setup) -> None:
    setup.trainer.registers = False
    [result] = run(setup, Action.RETRAIN, DEV)
    assert result == ActionResult(
        model=DEV,
        ok=False,
        summary="failed: team training job job-7 succeeded but registered no version of "
        "churn-0002 from a run tagged lotsen.idempotency_key=inc-7:churn-0002:retrain; "
        "nothing promoted",
    )


def test_a_blocked_promotion_leaves_the_winner_at_challenger(setup: Setup) -> None:
    blocked = GateResult(verdict="allow", promotion_blocked=[DEV])
    [result] = run(setup, Action.RETRAIN, DEV, gate=blocked)
    assert result.summary.endswith(
        "(finished); challenger v3 wins but promotion is blocked: "
        "substantial modification, needs sign-off"
    )
    assert (setup.champion(DEV), setup.challenger(DEV), result.promotion) == (2, 3, None)


def test_a_promotion_the_gate_denies_is_not_made(setup: Setup) -> None:
    setup.trainer.version_tags = {}  # no data checks recorded
    [result] = run(setup, Action.RETRAIN, DEV)
    assert result.summary.endswith(
        "challenger v3 wins but the gate refuses its promotion: "
        "[AIA-08] v3 training-data checks: not recorded"
    )
    assert (setup.champion(DEV), setup.challenger(DEV), result.promotion) == (2, 3, None)


def test_every_reason_of_a_denial_is_named(setup: Setup) -> None:
    setup.trainer.version_tags = {tags.DATA_CHECKS: "failed"}
    setup.registry.set_model_tag(DEV, "ai_act_risk", "high")
    [result] = run(setup, Action.RETRAIN, DEV)
    assert result.summary.endswith(
        "the gate refuses its promotion: [AIA-06] churn-0002 is high-risk under the EU AI "
        "Act: a human decides; [AIA-08] v3 training-data checks: failed"
    )


def test_a_prod_winner_waits_for_its_own_approval(setup: Setup) -> None:
    [result] = run(setup, Action.RETRAIN, PROD, approval=approval())
    assert result.ok
    assert result.summary == (
        f"team training job-7 (finished); {scores_phrase(3, 2 * PROMOTION_MARGIN)}: wins; "
        "its promotion waits for its own approval"
    )
    assert result.promotion == PendingPromotion(
        model=PROD,
        version=3,
        champion=2,
        job="job-7",
        key="inc-7:churn-0001:retrain",
        metric="auc",
        challenger_score=CHAMPION_SCORE + 2 * PROMOTION_MARGIN,
        champion_score=CHAMPION_SCORE,
        holdout="window 2026-11",
        holdout_rows=120,
        gate_reasons=["[SEG-05] set_alias touches prod: a human decides"],
    )
    assert (setup.champion(PROD), setup.challenger(PROD), setup.served(PROD)) == (2, 3, 2)
    # the retrain's approval covered training only: nothing recorded on the challenger
    assert tags.APPROVAL not in setup.registry.get_version(PROD, 3).tags


# --- promotion after its own approval ------------------------------------------------------


def pending_prod(setup: Setup) -> PendingPromotion:
    [result] = run(setup, Action.RETRAIN, PROD)
    assert result.promotion is not None, result.summary
    return result.promotion


def test_an_approved_promotion_moves_champion_and_serves_it(setup: Setup) -> None:
    pending = pending_prod(setup)
    result = promote(pending, plan_for(Action.RETRAIN, PROD), setup.world, approval("bob"), {})
    assert result == ActionResult(
        model=PROD,
        ok=True,
        summary=f"{pending.scores()}: promoted to champion (approved by bob)",
    )
    assert (setup.champion(PROD), setup.challenger(PROD), setup.served(PROD)) == (3, None, 3)
    assert setup.moves(PROD)[-2:] == [
        (CHAMPION, 2, 3, ACTOR, "promotion approved by bob (apr-9) for inc-7"),
        (CHALLENGER, 3, None, ACTOR, "promoted to champion in inc-7"),
    ]
    assert setup.history.find("inc-7:churn-0001:retrain:promote") is not None
    assert setup.registry.get_version(PROD, 3).tags[tags.APPROVAL] == "apr-9 by bob"
    record = setup.actions()[-1]
    assert (record.model, record.idempotency_key, record.data) == (
        PROD,
        "inc-7:churn-0001:promote",
        {"action": "retrain", "result": result.summary},
    )


def test_an_approved_promotion_serves_where_the_plan_saw_the_model(setup: Setup) -> None:
    """The carried model (decided on) names the namespace, not a later registry read."""
    pending = pending_prod(setup)
    carried = setup.registry.get_model(PROD).model_copy(update={"env": Environment.DEV})
    promote(pending, plan_for(Action.RETRAIN, PROD), setup.world, approval(), {PROD: carried})
    assert setup.twin.deployment("growth-dev", PROD).model_version == 3
    assert setup.served(PROD) == 2


def test_a_promotion_the_gate_now_denies_is_refused(setup: Setup) -> None:
    pending = pending_prod(setup)
    setup.registry.set_version_tag(PROD, 3, tags.DATA_CHECKS, "failed")
    result = promote(pending, plan_for(Action.RETRAIN, PROD), setup.world, approval(), {})
    assert result == ActionResult(
        model=PROD,
        ok=False,
        summary="failed: the gate refuses the promotion: [AIA-08] v3 training-data checks: "
        "failed; [SEG-05] set_alias touches prod: a human decides",
    )
    assert (setup.champion(PROD), setup.challenger(PROD)) == (2, 3)
    assert tags.APPROVAL not in setup.registry.get_version(PROD, 3).tags


def test_a_promotion_whose_challenger_moved_is_refused(setup: Setup) -> None:
    pending = pending_prod(setup)
    setup.registry.set_alias(PROD, CHALLENGER, 1, actor="carol", reason="another candidate")
    result = promote(pending, plan_for(Action.RETRAIN, PROD), setup.world, approval(), {})
    assert not result.ok
    assert "@challenger of churn-0001 is v1, not v3" in result.summary
    assert setup.champion(PROD) == 2


# --- rollback and revert -------------------------------------------------------------------


def test_a_rollback_moves_champion_back_records_the_approval_and_serves(setup: Setup) -> None:
    [result] = run(setup, Action.ROLLBACK, PROD, approval=approval("bob"))
    assert result == ActionResult(
        model=PROD,
        ok=True,
        summary="champion rolled back v2 -> v1 (no earlier champion recorded; newest lower "
        "version number)",
    )
    assert (setup.champion(PROD), setup.served(PROD)) == (1, 1)
    assert setup.moves(PROD)[-1] == (CHAMPION, 2, 1, ACTOR, "rollback for inc-7")
    assert setup.history.find("inc-7:churn-0001:rollback") is not None
    assert setup.registry.get_version(PROD, 1).tags[tags.APPROVAL] == "apr-9 by bob"
    [record] = setup.actions()
    assert (record.idempotency_key, record.data) == (
        "inc-7:churn-0001:rollback",
        {"action": "rollback", "result": result.summary},
    )


def test_a_rerun_rollback_targets_the_version_before_the_plans_champion(setup: Setup) -> None:
    """After a crash past the alias move, champion is v1 already: the re-run moves nothing."""
    run(setup, Action.ROLLBACK, DEV)
    [again] = run(setup, Action.ROLLBACK, DEV)
    assert again.ok, again.summary
    assert again.summary.startswith("champion rolled back v2 -> v1 ")
    assert setup.champion(DEV) == 1
    assert [m for m in setup.moves(DEV) if m[3] == ACTOR] == [
        (CHAMPION, 2, 1, ACTOR, "rollback for inc-7")
    ]


def test_a_rollback_target_keeps_its_earlier_approval(setup: Setup) -> None:
    """v3 replaced v2, whose release was approved (v1 carries no approval)."""
    setup.registry.create_version(DEV, NewVersion(tags={tags.DATA_CHECKS: "passed"}))
    setup.registry.set_alias(DEV, CHAMPION, 3, actor="ci", reason="release")
    setup.registry.set_version_tag(DEV, 2, tags.APPROVAL, "apr-1 by carol")
    run(setup, Action.ROLLBACK, DEV, champion=3)
    assert setup.champion(DEV) == 2
    assert setup.registry.get_version(DEV, 2).tags[tags.APPROVAL] == "apr-1 by carol"


def test_a_rollback_without_approval_records_the_gates_allow(setup: Setup) -> None:
    run(setup, Action.ROLLBACK, DEV)
    tag = setup.registry.get_version(DEV, 1).tags[tags.APPROVAL]
    assert tag == "gate: no policy requires a human"


def test_a_rollback_serves_where_the_plan_saw_the_model(setup: Setup) -> None:
    carried = setup.registry.get_model(PROD).model_copy(update={"env": Environment.DEV})
    run(setup, Action.ROLLBACK, PROD, carried={PROD: carried})
    assert setup.twin.deployment("growth-dev", PROD).model_version == 1
    assert setup.served(PROD) == 2


def test_a_rollback_without_a_champion_or_an_earlier_version_fails_clearly(
    setup: Setup,
) -> None:
    results = execute(
        plan_for(Action.ROLLBACK, PROD, DEV),
        GateResult(verdict="allow"),
        {DEV: 1},
        setup.world,
        pipeline=None,
        window=WINDOW,
        cause="test",
    )
    assert results == [
        ActionResult(
            model=PROD,
            ok=False,
            summary="failed: churn-0001 had no champion when the plan was made; nothing to "
            "roll back",
        ),
        ActionResult(
            model=DEV,
            ok=False,
            summary="failed: churn-0002 has no version before v1 to roll back to",
        ),
    ]
    assert [(r.kind, r.model, r.data) for r in setup.actions()] == [
        ("action_failed", PROD, {"action": "rollback", "error": results[0].summary[8:]}),
        ("action_failed", DEV, {"action": "rollback", "error": results[1].summary[8:]}),
    ]


def config_change(model: str = PROD) -> ChangeEvent:
    return ChangeEvent(
        id="evt-3",
        kind=EventKind.CONFIG_CHANGE,
        subject=f"growth-prod/{model}",
        model=model,
        version=2,
        at=START - timedelta(hours=2),
        actor="carol",
        before={"max_batch_size": 32},
        after={"max_batch_size": 256},
    )


def test_a_revert_undoes_the_change_the_incident_follows(setup: Setup) -> None:
    change = config_change()
    [result] = run(setup, Action.REVERT_CHANGE, PROD, cause=change)
    assert result == ActionResult(
        model=PROD, ok=True, summary=f"reverted {change.describe()} as evt-undo"
    )
    assert setup.reverted == [(change, ACTOR, "revert evt-3 for inc-7")]
    [record] = setup.actions()
    assert (record.idempotency_key, record.data["action"]) == (
        "inc-7:churn-0001:revert_change",
        "revert_change",
    )


def test_a_revert_without_its_change_or_a_reverter_fails_clearly(setup: Setup) -> None:
    results = run(setup, Action.REVERT_CHANGE, PROD, DEV, cause=config_change())
    assert results[1] == ActionResult(
        model=DEV, ok=False, summary="failed: no recorded change of churn-0002 to revert"
    )
    assert results[0].ok
    [uncaused] = run(setup, Action.REVERT_CHANGE, DEV)
    assert uncaused.summary == "failed: no recorded change of churn-0002 to revert"
    setup.world = replace(setup.world, revert=None)
    [cannot] = run(setup, Action.REVERT_CHANGE, PROD, cause=config_change())
    assert cannot == ActionResult(
        model=PROD, ok=False, summary="failed: this cluster cannot revert evt-3; revert it by hand"
    )
    assert len(setup.reverted) == 1
