"""Scenarios and change events: a declared serving change, its revert, and its oracle state.

A scenario declares a change someone made before the agent looks (`serving_change` fault:
a model server's configuration or runtime, same model version), recorded in the world's
event log at a time relative to the newest telemetry window, where a regression shows.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.cluster.sim import SimCluster
from tools.domain.events import SERVING_CHANGES, ChangeEvent, EventKind
from tools.errors import ConfigError
from tools.events import events_path

Scalar = str | int | float | bool | None
WINDOW = timedelta(days=1)
"""The simulator's telemetry windows are days; the newest one ends at the twin's clock."""


class ServingChange(BaseModel):
    """A change to a model server made before the agent looks (fault `serving_change`)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["serving_change"]
    model: str
    changes: dict[str, Scalar] = Field(min_length=1)
    """Configuration keys and their new values, e.g. {max_batch_size: 256}."""
    change: Literal["config", "runtime"] = "config"
    actor: str = "carol"
    reason: str = ""
    hours_before_window: float = Field(default=2.0, ge=-24, le=24 * 30)
    """When, in hours before the newest telemetry window starts (negative: inside it)."""


class ServingEventState(BaseModel):
    """A serving change or its revert, as an oracle compares them."""

    id: str
    model: str | None
    subject: str
    actor: str
    after: dict[str, Any]


def record_serving_change(fault: ServingChange, twin: SimCluster) -> ChangeEvent:
    """Record the declared change on the model's deployment (the first that serves it)."""
    served = [d for d in twin.deployments() if d.model == fault.model]
    if not served:
        raise ConfigError(f"serving_change: no deployment serves {fault.model}")
    dep = served[0]
    subject = f"{dep.namespace}/{dep.name}"
    current = twin.events.latest_config(subject)
    kind = EventKind.CONFIG_CHANGE if fault.change == "config" else EventKind.RUNTIME_CHANGE
    return twin.events.record(
        kind,
        subject,
        twin.now() - WINDOW - timedelta(hours=fault.hours_before_window),
        actor=fault.actor,
        model=dep.model,
        version=dep.model_version,
        environment=dep.env,
        before={k: current.get(k) for k in fault.changes},
        after=dict(fault.changes),
        reason=fault.reason,
    )


def revert_latest(twin: SimCluster, model: str, actor: str) -> ChangeEvent:
    """Undo the model's latest serving change (the reference solution's `revert_change`)."""
    changes = [e for e in twin.events.all() if e.model == model and e.kind in SERVING_CHANGES]
    if not changes:
        raise ConfigError(f"revert_change: no serving change of {model} to revert")
    last = changes[-1]
    namespace, name = last.subject.split("/", 1)
    return twin.change_serving(
        namespace, name, dict(last.before), kind=last.kind, actor=actor, reason="ref"
    )


def serving_state(
    twin: SimCluster, cluster_db: Path
) -> tuple[dict[str, dict[str, Any]], list[ServingEventState]]:
    """(deployment -> its serving configuration, every serving change) for a snapshot.

    Reading creates nothing: a world without an event log has no serving changes.
    """
    if not events_path(cluster_db).exists():
        return {}, []
    events = [e for e in twin.events.all() if e.kind in SERVING_CHANGES]
    config: dict[str, dict[str, Any]] = {}
    for e in events:
        config.setdefault(e.subject, {}).update(e.after)
    return config, [
        ServingEventState(id=e.id, model=e.model, subject=e.subject, actor=e.actor, after=e.after)
        for e in events
    ]
