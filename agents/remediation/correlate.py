"""Tying a regression to the change that closely preceded it.

A latency or performance regression that follows a serving change (configuration or
runtime) of the same model version is the change's doing, not the model's: revert the
change. One that follows a promotion or deploy of a new version: roll the champion back.
Either is preferred over retraining, even when drift is also present (a retrain on top of
a bad change bakes it in, and promotes on evidence the change distorted).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from tools.domain.events import SERVING_CHANGES, ChangeEvent, EventKind
from tools.drift.incidents import Incident

LOOKBACK = timedelta(hours=36)
"""A change at most this long before the regression's window counts as 'closely before'."""
WINDOW = timedelta(hours=24)
"""A change inside the regression's own window (it starts the regression) counts too."""
REGRESSIONS = frozenset(
    {"latency_regression", "bad_deploy", "drift_with_performance_drop", "concept_drift"}
)
"""Incident kinds a change can explain (a data-quality break or healthy drift cannot)."""


class Correlation(BaseModel):
    """The change a regression follows, and what undoing it means."""

    event: ChangeEvent
    undo: str
    """`revert_change` (a serving change of the same version) or `rollback` (a promotion)."""
    lead: timedelta
    """How long before the regression's window the change happened (negative: inside it)."""

    def explain(self, kind: str) -> str:
        """Why the decision table rolls the change back, naming the event."""
        hours = self.lead.total_seconds() / 3600
        when = f"{hours:.1f} h before" if hours >= 0 else f"{-hours:.1f} h into"
        what = (
            f"same model version v{self.event.version}: revert that change"
            if self.undo == "revert_change"
            else "roll the champion back to the version before it"
        )
        drift = (
            "; drift is also present, but retraining on top of the change would bake it in"
            if kind in ("drift_with_performance_drop", "covariate_drift")
            else ""
        )
        kind_words = kind.replace("_", " ")
        return (
            f"the {kind_words} follows {self.event.describe()} ({when} the window); {what}{drift}"
        )


def window_of(incident: Incident) -> tuple[datetime, datetime]:
    """The span of time whose changes may explain the incident."""
    return incident.window_start - LOOKBACK, incident.window_start + WINDOW


EventReader = Callable[[set[str], datetime, datetime], list[ChangeEvent]]
"""(models, start, end) -> the recorded changes to those models in that span."""


def events_around(incident: Incident, reader: EventReader | None) -> list[ChangeEvent]:
    """The recorded changes that may explain the incident (none without an event stream)."""
    if reader is None:
        return []
    start, end = window_of(incident)
    return reader(set(incident.models), start, end)


def correlate(incident: Incident, events: list[ChangeEvent]) -> Correlation | None:
    """The latest change to one of the incident's models that closely precedes it, if any."""
    if incident.kind not in REGRESSIONS:
        return None
    start, end = window_of(incident)
    models = set(incident.models)
    candidates = [
        e for e in events if e.model in models and start <= e.at <= end and _undo(e) is not None
    ]
    if not candidates:
        return None
    event = max(candidates, key=lambda e: e.at)
    undo = _undo(event)
    assert undo is not None
    return Correlation(event=event, undo=undo, lead=incident.window_start - event.at)


def _undo(event: ChangeEvent) -> str | None:
    if event.kind in SERVING_CHANGES:
        return "revert_change"
    if event.kind is EventKind.DEPLOY:
        return "rollback"
    if event.kind is EventKind.ALIAS_MOVE and event.subject.endswith("@champion"):
        before, after = event.before.get("version"), event.after.get("version")
        if isinstance(before, int) and isinstance(after, int) and after > before:
            return "rollback"  # a promotion; a move back is itself a rollback
    return None
