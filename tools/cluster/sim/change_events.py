"""The twin's change events: what it records where a deployment changes."""

from datetime import datetime
from typing import Any

from tools.domain import Deployment
from tools.domain.events import SERVING_CHANGES, ChangeEvent, EventKind
from tools.errors import ConfigError
from tools.events.log import EventLog


def record(
    log: EventLog,
    kind: EventKind,
    dep: Deployment,
    at: datetime,
    before: dict[str, Any],
    after: dict[str, Any],
    actor: str = "twin",
    reason: str = "",
) -> ChangeEvent:
    """Record one change of a deployment (its model, version and environment attached)."""
    return log.record(
        kind,
        f"{dep.namespace}/{dep.name}",
        at,
        actor=actor,
        model=dep.model,
        version=dep.model_version,
        environment=dep.env,
        before=before,
        after=after,
        reason=reason,
    )


def serving_change(
    log: EventLog,
    dep: Deployment,
    at: datetime,
    changes: dict[str, Any],
    kind: EventKind,
    actor: str,
    reason: str,
) -> ChangeEvent:
    """A configuration or runtime change: before = the values its earlier events left."""
    if kind not in SERVING_CHANGES:
        raise ConfigError(f"not a serving change: {kind.value}")
    current = log.latest_config(f"{dep.namespace}/{dep.name}")
    before = {k: current.get(k) for k in changes}
    return record(log, kind, dep, at, before, dict(changes), actor, reason)
