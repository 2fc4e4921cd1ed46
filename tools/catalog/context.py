"""What the catalogue's tools act on."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tools.capacity.energy import CapacityConfig
from tools.cluster.protocol import Cluster
from tools.registry import ModelRegistry

if TYPE_CHECKING:
    from tools.policy.spec import Policy


@dataclass(frozen=True)
class ToolContext:
    """The world the tools read and (through the gate) change."""

    registry: ModelRegistry
    cluster: Cluster
    capacity: CapacityConfig = field(default_factory=CapacityConfig)
    """Prices, carbon curve and thresholds of the capacity tools."""
    policies: "list[Policy] | None" = None
    """Compliance policies of the compliance tools; None = the shipped ones."""
