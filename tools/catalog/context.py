"""What the catalogue's tools act on."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from tools.capacity.energy import CapacityConfig
from tools.cluster.protocol import Cluster
from tools.registry import ModelRegistry

if TYPE_CHECKING:
    from tools.policy.gate import ComplianceGate
    from tools.policy.spec import Policy
    from tools.telemetry.store import TelemetryStore


@dataclass(frozen=True)
class ToolContext:
    """The world the tools read and (through the gate) change."""

    registry: ModelRegistry
    cluster: Cluster
    capacity: CapacityConfig = field(default_factory=CapacityConfig)
    """Prices, carbon curve and thresholds of the capacity tools."""
    policies: "list[Policy] | None" = None
    """Compliance policies of the compliance tools; None = the shipped ones."""
    clock: Callable[[], datetime] | None = None
    """The world's clock; None = the cluster's clock."""
    telemetry: "Callable[[], TelemetryStore] | None" = None
    """Opens the binned telemetry for the drift tools (on first use); None = none here."""

    def now(self) -> datetime:
        """Now, by the world's clock."""
        return self.clock() if self.clock is not None else self.cluster.now()

    def rules(self) -> "list[Policy]":
        """The policies in force: the world's, else the shipped ones."""
        from tools.policy.spec import load_policies

        return self.policies if self.policies is not None else load_policies()

    def gate(self) -> "ComplianceGate":
        """The compliance gate over this context, with its policies, at its clock."""
        from tools.policy.gate import ComplianceGate

        return ComplianceGate(self.registry, self.cluster, self.rules(), now=self.now())
