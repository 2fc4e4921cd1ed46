"""What a declared world adds after seeding: incidents, aliases, the carbon forecast.

Incidents that exist before the agent starts (with the key a scan would give the same
problem, so a scan updates them instead of opening a twin), aliases besides
champion/challenger, and the hourly carbon forecast a trial's settings read.
"""

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from tools.drift.incidents import Incident, IncidentKind

if TYPE_CHECKING:
    from evals.world_decl import WorldDecl
    from world.world import World

CARBON_FILE = "carbon-forecast.yaml"
"""Beside the world in a scenario's data dir; the trial's settings read it."""


class IncidentDecl(BaseModel):
    """An incident already open (or acknowledged, ...) when the agent starts."""

    model_config = ConfigDict(extra="forbid")

    kind: IncidentKind
    models: list[str] = Field(min_length=1)
    pipeline: str | None = None
    features: list[str] = Field(default_factory=list)
    probable_cause: str = ""
    hours_ago: float = Field(default=24.0, ge=0)
    status: Literal["open", "acknowledged", "closed"] = "open"
    actor: str = "carol"

    def incident(self, now: datetime) -> Incident:
        """The incident with the key a scan would give the same problem."""
        scope = {
            "data_quality": self.pipeline or "",
            "covariate_drift": f"{self.pipeline}|{','.join(self.features)}",
            "drift_with_performance_drop": f"{self.pipeline}|{','.join(self.features)}",
        }.get(self.kind, ",".join(sorted(self.models)))
        if self.kind in ("concept_drift", "bad_deploy"):
            scope = self.models[0]
        key = f"inc-{hashlib.sha1(f'{self.kind}|{scope}'.encode()).hexdigest()[:10]}"
        return Incident(
            id=key,
            key=key,
            kind=self.kind,
            probable_cause=self.probable_cause or f"declared {self.kind}",
            pipeline=self.pipeline,
            models=sorted(self.models),
            features=self.features,
            window_start=now - timedelta(hours=self.hours_ago),
        )


def write_carbon(decl: "WorldDecl | None", data_dir: Path) -> None:
    """Write the declared forecast beside the world (a trial's settings pick it up)."""
    if decl is not None and decl.carbon_forecast is not None:
        text = yaml.safe_dump([float(v) for v in decl.carbon_forecast])
        (data_dir / CARBON_FILE).write_text(text, encoding="utf-8")


def carbon_file(data_dir: Path) -> Path | None:
    """The data dir's declared carbon forecast, if its scenario declared one."""
    path = data_dir / CARBON_FILE
    return path if path.exists() else None


def after_copy(decl: "WorldDecl | None", data_dir: Path, world: "World") -> None:
    """What is not seeded: aliases besides champion/challenger, incidents, the forecast."""
    if decl is None:
        return
    for m in decl.models:
        for alias, version in m.aliases.items():
            if alias not in ("champion", "challenger"):
                world.registry.set_alias(m.name, alias, version, actor="seed", reason="declared")
    now = world.clock()
    for d in decl.incidents:
        store = world.runs.incidents
        (opened,) = store.observe([d.incident(now)], now - timedelta(hours=d.hours_ago))
        if d.status != "open":
            store.transition(opened.id, d.status, d.actor, now, note="declared")
    write_carbon(decl, data_dir)
