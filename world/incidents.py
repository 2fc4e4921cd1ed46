"""Acknowledging and closing incidents: the status change, checked and audited.

The incidents live in the world's remediation store (memory/incidents.py): they describe the
world being watched, and a re-seeded world starts without them; the audit log, in the state
directory, keeps who acknowledged and closed what.
"""

from typing import Literal

from memory.incidents import IncidentRecord, IncidentStore
from tools.errors import NotFoundError
from world.world import World


def incident_store(world: World) -> IncidentStore | None:
    """The world's incidents; None before any scan recorded some (nothing is created)."""
    return world.runs.incidents if world.files.remediation_db.exists() else None


def acknowledge(
    world: World, incident_id: str, user: str | None, note: str | None
) -> IncidentRecord:
    """Acknowledge an open incident as `user` (an operator).

    Raises:
        ConfigError: the user may not act as an operator.
        NotFoundError: no such incident.
        ConflictError: the incident is not open (acknowledged, remediating, resolved, closed).
    """
    return _move(world, incident_id, "acknowledged", user, note)


def close(world: World, incident_id: str, user: str | None, note: str) -> IncidentRecord:
    """Close an incident for good, saying why; a recurrence opens a new occurrence.

    Raises:
        ConfigError: the user may not act as an operator.
        NotFoundError: no such incident.
        ConflictError: the incident is closed already.
    """
    return _move(world, incident_id, "closed", user, note)


def _move(
    world: World,
    incident_id: str,
    status: Literal["acknowledged", "closed"],
    user: str | None,
    note: str | None,
) -> IncidentRecord:
    actor = world.user(user, "operator")
    store = incident_store(world)
    if store is None:
        raise NotFoundError(f"unknown incident {incident_id!r}: no scan has recorded incidents")
    before = store.get(incident_id).status
    record = store.transition(incident_id, status, actor, world.clock(), note)
    world.audit.append(
        f"incident_{status}",
        actor=actor,
        incident=incident_id,
        data={"from": before, "to": status, "note": note, "kind": record.kind},
    )
    return record
