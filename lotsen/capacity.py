"""Wiring the capacity planner to the world: config from settings, the saved plan, apply."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from agents.capacity.apply import ApplyWorld
from agents.capacity.plan import CapacityPlan
from lotsen.settings import Settings
from lotsen.world import current_world
from memory.audit import AuditLog
from memory.remediation import RemediationStore
from tools.capacity.energy import CapacityConfig, load_carbon_curve
from tools.cluster.protocol import Cluster
from tools.errors import NotFoundError, StateError

PLAN_FILE = "capacity_plan.json"


def capacity_config(settings: Settings) -> CapacityConfig:
    """Prices, carbon curve and thresholds from settings."""
    return CapacityConfig(
        gpu_hour_price=dict(settings.gpu_hour_price),
        carbon=load_carbon_curve(settings.carbon_curve_file),
        idle_days=settings.scale_to_zero_days,
        retrain_deadline_hours=settings.retrain_deadline_hours,
    )


def plan_path(settings: Settings) -> Path:
    """Where `capacity plan` saves the plan for `capacity apply`."""
    return current_world(settings).root / PLAN_FILE


def save_plan(settings: Settings, plan: CapacityPlan) -> Path:
    """Write the plan atomically."""
    path = plan_path(settings)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(plan.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def load_plan(settings: Settings) -> CapacityPlan:
    """The plan saved by the last `capacity plan`."""
    path = plan_path(settings)
    if not path.exists():
        raise NotFoundError("no capacity plan yet; run `lotsen capacity plan` first")
    try:
        return CapacityPlan.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise StateError(
            f"{path} is not a capacity plan ({exc.error_count()} errors); run "
            "`lotsen capacity plan` again"
        ) from None


def _utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def apply_world(settings: Settings, cluster: Cluster) -> Iterator[ApplyWorld]:
    """Audit log and approval store of the current world, closed afterwards."""
    files = current_world(settings)
    audit = AuditLog(files.audit_db)
    store = RemediationStore(files.remediation_db)
    try:
        yield ApplyWorld(
            cluster=cluster,
            audit=audit,
            store=store,
            clock=_utcnow,
            approval_ttl=timedelta(hours=settings.approval_ttl_hours),
        )
    finally:
        audit.close()
        store.close()
