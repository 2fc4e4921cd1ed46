"""Change events: what changed on the platform, when, by whom, from what to what.

Deploys (a server starts serving another version), configuration and runtime changes
(e.g. a serving engine's batch size, a runtime image), alias moves (from the registry's
alias history) and scale changes form one typed stream. The monitor's correlation reads
it to tie a regression to the change that closely preceded it.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from tools.domain.common import DomainModel, Environment


class EventKind(StrEnum):
    """What kind of change an event records."""

    DEPLOY = "deploy"
    """A deployment starts serving another model version."""
    CONFIG_CHANGE = "config_change"
    """A deployment's serving configuration changed (same model version)."""
    RUNTIME_CHANGE = "runtime_change"
    """The serving runtime changed (engine version, image, driver; same model version)."""
    ALIAS_MOVE = "alias_move"
    """A registry alias moved (a promotion when @champion moved forward)."""
    SCALE = "scale"
    """A deployment's replicas changed."""


SERVING_CHANGES = frozenset({EventKind.CONFIG_CHANGE, EventKind.RUNTIME_CHANGE})
"""Changes that leave the model version as it is: a regression after one is not the model."""


class ChangeEvent(DomainModel):
    """One change, as recorded where it happened (twin, registry adapter)."""

    id: str
    """`evt-<n>` for the event log, `alias-<seq>` for the alias history."""
    kind: EventKind
    subject: str
    """`namespace/deployment`, or the model for alias moves."""
    model: str | None = None
    """The model the change concerns (None: not tied to one model)."""
    version: int | None = None
    """The model version served or pointed at after the change."""
    environment: Environment | None = None
    at: datetime
    actor: str
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""

    def describe(self) -> str:
        """One line naming the event: id, kind, subject, the change, who and when."""
        keys = sorted(set(self.before) | set(self.after))
        change = ", ".join(
            f"{k} {self.before.get(k, '-')} -> {self.after.get(k, '-')}" for k in keys
        )
        return (
            f"{self.id} {self.kind.value} of {self.subject}"
            + (f" ({change})" if change else "")
            + f" by {self.actor} at {self.at:%Y-%m-%d %H:%M}"
        )
