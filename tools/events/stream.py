"""One time-ordered stream of change events: the event log plus the registry's alias moves."""

from datetime import datetime

from tools.domain.events import ChangeEvent, EventKind
from tools.events.log import EventLog
from tools.registry.protocol import ModelRegistry


def events_between(
    start: datetime,
    end: datetime,
    models: set[str],
    log: EventLog | None,
    registry: ModelRegistry | None,
) -> list[ChangeEvent]:
    """Every recorded change to `models` with start <= at <= end, oldest first.

    Alias moves come from the registry's alias history (reused, not copied into the log).
    """
    found = log.between(start, end, models) if log is not None else []
    if registry is not None:
        for model in sorted(models):
            for move in registry.alias_history(model):
                if start <= move.at <= end:
                    found.append(
                        ChangeEvent(
                            id=f"alias-{move.seq}",
                            kind=EventKind.ALIAS_MOVE,
                            subject=f"{move.model}@{move.alias}",
                            model=move.model,
                            version=move.new_version,
                            at=move.at,
                            actor=move.actor,
                            before={"version": move.old_version},
                            after={"version": move.new_version},
                            reason=move.reason,
                        )
                    )
    return sorted(found, key=lambda e: e.at)
