"""What the catalogue's tools act on."""

from dataclasses import dataclass, field

from tools.capacity.energy import CapacityConfig
from tools.cluster.protocol import Cluster
from tools.registry import ModelRegistry


@dataclass(frozen=True)
class ToolContext:
    """The world the tools read and (through the gate) change."""

    registry: ModelRegistry
    cluster: Cluster
    capacity: CapacityConfig = field(default_factory=CapacityConfig)
    """Prices, carbon curve and thresholds of the capacity tools."""
