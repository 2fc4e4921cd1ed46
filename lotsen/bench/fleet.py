"""`lotsen bench fleet`: what seeding and the twin cost, against bare MLflow in the same run."""

import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel

from tools.cluster.sim import SimCluster
from tools.domain import Environment, JobSpec
from tools.fleet.catalog import FleetCatalog
from tools.fleet.generate import generate_fleet
from tools.fleet.layout import ENV_TAINT, TRAINING_REQUEST, TRAINING_TAINT
from tools.fleet.seed import seed_fleet
from tools.fleet.spec import FleetSpec
from tools.registry import AliasHistory, MlflowRegistry, sqlite_uri
from world.layout import configure_mlflow_env


class FleetBench(BaseModel):
    """Timings of one `bench fleet` run (seconds)."""

    models: int
    mlflow_baseline_s: float
    """Bare MlflowClient calls writing the same runs, versions, tags and aliases."""
    lotsen_seed_s: float
    """Lotsen's seeding of the registry (checks, alias history) plus the twin."""
    twin_build_s: float
    """Part of lotsen_seed_s: building the twin and placing every replica."""
    jobs: int
    job_submit_s: float
    """Submitting `jobs` retraining jobs (admission within quota) one by one."""
    advance_s: float
    """Advancing the clock 24 h: job completions, admissions, energy."""

    @property
    def overhead(self) -> float:
        """Lotsen seeding time / bare MLflow time."""
        return self.lotsen_seed_s / self.mlflow_baseline_s


def bench_fleet(models: int, seed: int, jobs: int = 200) -> FleetBench:
    """Run the benchmark in a temporary directory."""
    configure_mlflow_env()
    spec = generate_fleet(models, seed)
    warm_up = generate_fleet(20, seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # Warm both code paths first so neither pays the first-call costs in the timing.
        _bare_mlflow(warm_up, _fresh_client(root / "warm-base.db"))
        _lotsen_seed(warm_up, root / "warm")
        baseline = _timed(lambda: _bare_mlflow(spec, _fresh_client(root / "base.db")))
        seeded = _timed(_lotsen_seed_later(spec, root / "timed"))
        twin_build = _timed(lambda: SimCluster.create(root / "c2.db", spec.cluster))
        twin = SimCluster(root / "c2.db")
        submit = _timed(lambda: _submit_jobs(twin, jobs))
        advance = _timed(lambda: twin.advance(timedelta(hours=24)))
    return FleetBench(
        models=models,
        mlflow_baseline_s=baseline,
        lotsen_seed_s=seeded,
        twin_build_s=twin_build,
        jobs=jobs,
        job_submit_s=submit,
        advance_s=advance,
    )


def _lotsen_registry(root: Path) -> MlflowRegistry:
    root.mkdir()
    registry = MlflowRegistry(sqlite_uri(root / "m.db"), AliasHistory(root / "h.db"), root / "a")
    registry.list_models()  # schema migration, outside the timing (as for the baseline)
    return registry


def _lotsen_seed(spec: FleetSpec, root: Path) -> None:
    _lotsen_seed_later(spec, root)()


def _lotsen_seed_later(spec: FleetSpec, root: Path) -> Callable[[], object]:
    """Prepare an empty registry now; return the seeding to time."""
    registry = _lotsen_registry(root)
    catalog = FleetCatalog(root / "fleet.db")
    return lambda: seed_fleet(spec, registry, root / "c.db", catalog)


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _fresh_client(path: Path) -> object:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=sqlite_uri(path), registry_uri=sqlite_uri(path))
    client.search_registered_models()
    return client


def _bare_mlflow(spec: FleetSpec, client: object) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    assert isinstance(client, MlflowClient)
    experiment = client.create_experiment("baseline")
    for plan in spec.models:
        name = plan.model.name
        client.create_registered_model(name, tags=dict(plan.model.tags))
        for version in plan.versions:
            run = client.create_run(experiment)
            metrics = [Metric(k, v, 0, 0) for k, v in version.metrics.items()]
            client.log_batch(run.info.run_id, metrics=metrics)
            client.set_terminated(run.info.run_id)
            client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
        if plan.challenger:
            client.set_registered_model_alias(name, "challenger", str(plan.challenger))
        client.set_registered_model_alias(name, "champion", str(plan.champion))


def _submit_jobs(twin: SimCluster, count: int) -> None:
    namespaces = [ns.name for ns in twin.namespaces() if ns.env is Environment.TEST]
    for i in range(count):
        twin.submit_job(
            JobSpec(
                namespace=namespaces[i % len(namespaces)],
                model=f"bench-{i}",
                gpu=TRAINING_REQUEST,
                duration_s=3600.0 * (1 + i % 5),
                idempotency_key=f"bench-{i}",
                tolerations=[ENV_TAINT, TRAINING_TAINT],
            )
        )
