"""Building a scenario's world: seed once and cache, copy, inject faults, copy per trial.

Seeding a 40-model world takes seconds (MLflow on SQLite); copying its directory takes
milliseconds. So the base world of each (seed, fleet size) is built once into the cache,
each scenario's world is a copy with the scenario's faults injected, and each trial runs on
its own copy of that, in its own data dir.
"""

import fcntl
import functools
import hashlib
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, Field

from evals.actions import OpenDataIncident, ReportIncident
from evals.events_world import ServingChange, record_serving_change
from evals.faults import (
    AdvanceClock,
    ComplianceGap,
    Fault,
    InjectText,
    MoveAlias,
    NarrowChangePlan,
    NodeLoss,
    NoisyNeighbour,
    Promote,
    QuotaCut,
    SetTag,
    SubmitJob,
    TelemetryFault,
)
from evals.queues_world import declare
from evals.scenario import Scenario
from evals.world_decl import WorldDecl, declared_fleet
from evals.world_extras import after_copy
from tools.cluster.sim import SimCluster
from tools.domain import ChangeKind, ChangePlan, JobSpec, Lineage, NewVersion
from tools.domain import Fault as ClusterFault
from tools.domain.ownership import serving_namespace
from tools.fleet.generate import generate_fleet
from tools.fleet.layout import ENV_TAINT, TRAINING_REQUEST, TRAINING_TAINT
from tools.registry import CHAMPION, AliasHistory, MlflowRegistry, sqlite_uri
from tools.telemetry.faults import FaultSpec
from tools.telemetry.patterns import TelemetryPatterns, apply_patterns
from tools.telemetry.simulate import SimulationSpec, simulate
from tools.telemetry.store import InjectedFault, TelemetryStore
from world.layout import WorldFiles, configure_mlflow_env, current_world
from world.monitoring import fleet_models
from world.seeding import build_world
from world.settings import Settings
from world.world import World

CACHE_VERSION = 1
"""Bump when seeding changes in a way the cache key does not capture."""


def base_world(cache_dir: Path, seed: int, models: int, world: WorldDecl | None = None) -> Path:
    """The data dir of the seeded world for (seed, models), built once and cached.

    Built in place (MLflow records absolute artifact paths) under a file lock, and marked
    complete only at the end, so a crash mid-build is rebuilt next time.
    """
    declared = world is not None and world.needs_seeding
    suffix = f"-w{world.key()}" if world is not None and declared else ""
    target = cache_dir / f"base-v{CACHE_VERSION}-s{seed}-m{models}{suffix}"
    done = target / ".complete"
    if done.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _lock(cache_dir / f".{target.name}.lock"):
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            spec = generate_fleet(models, seed)
            if world is not None and declared:
                spec = declared_fleet(spec, world)
            build_world(Settings(data_dir=target), spec, force=False)
            done.touch()
    return target


def fresh_dir(parent: Path, prefix: str) -> Path:
    """A new, unique folder (MLflow caches database engines per path: never reuse one)."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=parent))


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def copy_world(source: Path, target: Path) -> Settings:
    """Copy a data dir into a new folder (the `world` link is relative: the copy is whole)."""
    shutil.copytree(source, target, symlinks=True)
    return Settings(data_dir=target)


_NOT_PREPARED = {
    "id", "agent", "level", "difficulty", "description", "control", "ask", "earlier",
    "propose", "human", "expect", "reference_solution", "act_anyway", "split", "tags",
    "judge", "known_failure",
}  # fmt: skip
"""Scenario fields that do not shape its prepared world (every other field does)."""


def prepare(scenario: Scenario, cache_dir: Path, target: Path, *, light: bool = False) -> Settings:
    """The scenario's world in `target`: the cached base world plus the scenario's faults.

    `light` is for the self-checks, which never read histograms: telemetry is simulated
    (one small window) only where the harness needs its ground truth or an injected label.
    Scenarios that declare the same world (e.g. many questions about one setup) share one
    preparation, cached like the base worlds and copied into `target`.
    """
    needs_telemetry = not light or _harness_needs_telemetry(scenario)
    shape = (
        scenario.model_dump_json(exclude=_NOT_PREPARED)
        + f"|telemetry={needs_telemetry}|code={_preparing_code()}"
    )
    key = hashlib.sha256(shape.encode()).hexdigest()[:16]
    cached = cache_dir / f"prepared-v{CACHE_VERSION}-{key}"
    done = cached / ".prepared"  # not `.complete`: the copied base world carries that one
    if not done.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        with _lock(cache_dir / f".{cached.name}.lock"):
            if not done.exists():
                shutil.rmtree(cached, ignore_errors=True)
                _prepare(scenario, cache_dir, cached, light)
                done.touch()
    settings = copy_world(cached, target)
    (target / ".prepared").unlink()
    (target / "scenario-id").write_text(scenario.id, encoding="utf-8")
    return settings


@functools.cache
def _preparing_code() -> str:
    """A digest of the code that prepares worlds (a persistent cache must not outlive it)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for folder in ("evals", "world", "tools/telemetry", "tools/cluster/sim", "tools/fleet"):
        for path in sorted((root / folder).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _prepare(scenario: Scenario, cache_dir: Path, target: Path, light: bool) -> None:
    configure_mlflow_env()
    base = base_world(cache_dir, scenario.seed, scenario.fleet.models, scenario.world)
    settings = copy_world(base, target)
    if scenario.world is not None:
        with World(settings) as world:
            after_copy(scenario.world, target, world)
    files = WorldFiles(current_world(settings).root.resolve())
    declare(files.cluster_db, scenario.queues, scenario.schedules)
    before: list[Fault] = [
        f
        for f in scenario.faults
        if isinstance(f, Promote | MoveAlias | NarrowChangePlan | SetTag)
        or (isinstance(f, InjectText) and f.where != "telemetry_category")
    ]
    for fault in before:
        _registry_fault(fault, files)
    if scenario.telemetry is not None and (not light or _harness_needs_telemetry(scenario)):
        _simulate(scenario, settings, files, light)
    for index, fault in enumerate(scenario.faults):
        _late_fault(fault, files, index)
    _hide_ground_truth(target, files)


def _harness_needs_telemetry(scenario: Scenario) -> bool:
    """Reference actions that take their models from the ground truth, or injected labels."""
    actions = [*scenario.reference_solution, *scenario.act_anyway]
    return any(
        isinstance(f, InjectText) and f.where == "telemetry_category" for f in scenario.faults
    ) or any(isinstance(a, OpenDataIncident | ReportIncident) and not a.models for a in actions)


def _registry(files: WorldFiles) -> MlflowRegistry:
    return MlflowRegistry(
        sqlite_uri(files.mlflow_db), AliasHistory(files.alias_history_db), files.artifacts
    )


def _registry_fault(fault: Fault, files: WorldFiles) -> None:
    registry = _registry(files)
    match fault:
        case Promote():
            model = registry.get_model(fault.model)
            created = registry.create_version(
                fault.model,
                NewVersion(
                    metrics=fault.metrics,
                    lineage=Lineage(parent_version=model.aliases.get(CHAMPION)),
                    description="deployed by CI",
                ),
            )
            registry.set_alias(
                fault.model, CHAMPION, created.version, actor=fault.actor, reason="deploy"
            )
            twin = SimCluster(files.cluster_db)
            try:
                namespace = serving_namespace(model)
                if namespace is not None and any(
                    d.name == fault.model for d in twin.deployments(namespace)
                ):
                    twin.set_model_version(namespace, fault.model, created.version)
            finally:
                twin.close()
        case MoveAlias():
            registry.set_alias(
                fault.model, fault.alias, fault.version, actor=fault.actor, reason=fault.reason
            )
        case NarrowChangePlan():
            plan = ChangePlan(allowed=tuple(ChangeKind(a) for a in fault.allowed))
            registry.set_model_tag(fault.model, "change_plan", plan.model_dump_json())
        case SetTag():
            registry.set_model_tag(fault.model, fault.key, fault.value)
        case InjectText(where="model_description"):
            from mlflow.tracking import MlflowClient

            uri = sqlite_uri(files.mlflow_db)
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            client.update_registered_model(fault.model, description=fault.text)
        case InjectText(where="model_tag"):
            registry.set_model_tag(fault.model, "notes", fault.text)
        case _:
            raise AssertionError(f"not a registry fault: {fault}")


def _simulate(scenario: Scenario, settings: Settings, files: WorldFiles, light: bool) -> None:
    assert scenario.telemetry is not None
    windows, rows = (1, 200) if light else (scenario.telemetry.windows, scenario.telemetry.rows)
    with World(settings) as world:
        models, pipelines = fleet_models(world)
        now = world.clock()
    spec = SimulationSpec(
        seed=scenario.seed,
        start=now - timedelta(hours=scenario.telemetry.window_hours * windows),
        windows=windows,
        window_hours=scenario.telemetry.window_hours,
        reference_rows=rows,
        window_rows=rows,
        faults=[
            FaultSpec.model_validate(f.model_dump())
            for f in scenario.faults
            if isinstance(f, TelemetryFault)
        ],
    )
    store = TelemetryStore(files.telemetry_db)
    declared = TelemetryPatterns(
        segments=scenario.telemetry.segments, seasonality=scenario.telemetry.seasonality
    )
    try:
        simulate(spec, models, pipelines, store)
        if not light:
            apply_patterns(store, declared, scenario.seed)
    finally:
        store.close()


def _late_fault(fault: Fault, files: WorldFiles, index: int) -> None:
    match fault:
        case InjectText(where="telemetry_category"):
            _inject_category(files, fault)
        case ComplianceGap():
            from tools.policy.gaps import inject_gap

            twin = SimCluster(files.cluster_db)
            try:
                inject_gap(fault.gap, fault.target, _registry(files), twin, fault.value)
            finally:
                twin.close()
        case ServingChange():
            twin = SimCluster(files.cluster_db)
            try:
                record_serving_change(fault, twin)
            finally:
                twin.close()
        case QuotaCut() | NodeLoss() | NoisyNeighbour() | SubmitJob() | AdvanceClock():
            twin = SimCluster(files.cluster_db)
            try:
                _twin_fault(fault, twin, index)
            finally:
                twin.close()
        case _:
            pass


def _twin_fault(fault: Fault, twin: SimCluster, index: int) -> None:
    """Apply one twin fault; `index` (its place in the scenario) keeps job keys distinct."""
    match fault:
        case QuotaCut():
            twin.inject_quota_cut(fault.namespace, fault.gpus)
        case NodeLoss():
            twin.inject_node_loss(fault.node)
        case NoisyNeighbour():
            twin.inject_noisy_neighbour(fault.node, fault.gpu, fault.factor)
        case SubmitJob():
            for n in range(fault.count):
                twin.submit_job(
                    JobSpec(
                        namespace=fault.namespace,
                        model=fault.model,
                        gpu=TRAINING_REQUEST,
                        duration_s=fault.hours * 3600,
                        # two faults for the same namespace and model are two sets of jobs
                        idempotency_key=f"scenario:{index}:{fault.namespace}:{fault.model}:{n}",
                        tolerations=[ENV_TAINT, TRAINING_TAINT],
                        priority=fault.priority,
                        queue_name=fault.queue,
                    )
                )
        case AdvanceClock():
            twin.advance(timedelta(hours=fault.hours))
        case _:
            raise AssertionError(f"not a twin fault: {fault}")


def _inject_category(files: WorldFiles, fault: InjectText) -> None:
    """Rename the first category of a categorical feature's histograms to the injected text."""
    store = TelemetryStore(files.telemetry_db)
    try:
        feature = fault.feature
        if feature is None:
            row = store.db.execute(
                "SELECT feature FROM reference WHERE model = ? AND kind = 'categorical' "
                "ORDER BY feature LIMIT 1",
                [fault.model],
            ).fetchone()
            assert row is not None, f"{fault.model} has no categorical feature"
            feature = str(row[0])
        store.db.execute(
            "UPDATE reference SET categories = list_concat([?], list_slice(categories, 2, "
            "len(categories))) WHERE model = ? AND feature = ?",
            [fault.text, fault.model, feature],
        )
    finally:
        store.close()


GROUND_TRUTH = "ground-truth.json"
"""Beside the world, in the data dir: no agent opens it."""


class GroundTruth(BaseModel):
    """What was injected (kept for the harness and reports, hidden from agents)."""

    telemetry: list[InjectedFault] = Field(default_factory=list)
    cluster: list[ClusterFault] = Field(default_factory=list)

    def models_hit(self, pipeline: str) -> list[str]:
        """Models an injected upstream break of this pipeline hit."""
        return sorted({m for f in self.telemetry if f.target == pipeline for m in f.models})


def _hide_ground_truth(data_dir: Path, files: WorldFiles) -> None:
    """Move the simulator's and the twin's fault records out of the world the agent sees."""
    truth = GroundTruth()
    if files.telemetry_db.exists():
        store = TelemetryStore(files.telemetry_db)
        try:
            truth.telemetry = store.faults()
            store.db.execute("DELETE FROM injected_faults")
        finally:
            store.close()
    twin = SimCluster(files.cluster_db)
    try:
        truth.cluster = twin.faults()
    finally:
        twin.close()
    with sqlite3.connect(files.cluster_db) as conn:
        conn.execute("DELETE FROM faults")
    conn.close()
    (data_dir / GROUND_TRUTH).write_text(truth.model_dump_json(indent=1), encoding="utf-8")


def ground_truth(data_dir: Path) -> GroundTruth:
    """The ground truth of a prepared world (never handed to an agent)."""
    path = data_dir / GROUND_TRUTH
    if not path.exists():
        return GroundTruth()
    return GroundTruth.model_validate_json(path.read_text(encoding="utf-8"))
