"""What the catalogue's tools act on."""

from dataclasses import dataclass

from tools.cluster.protocol import Cluster
from tools.registry import ModelRegistry


@dataclass(frozen=True)
class ToolContext:
    """The world the tools read and (through the gate) change."""

    registry: ModelRegistry
    cluster: Cluster
