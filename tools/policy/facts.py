"""The state policies are checked on: one consistent read of registry and cluster."""

from dataclasses import dataclass, field
from datetime import datetime

from tools.cluster.protocol import Cluster
from tools.domain import (
    AliasChange,
    Deployment,
    Environment,
    Gpu,
    ModelVersion,
    Namespace,
    Node,
    NodePool,
    RegisteredModel,
)
from tools.registry import ModelRegistry


@dataclass(frozen=True)
class GpuSubject:
    """One physical GPU, the subject of GPU-scope policies."""

    node: Node
    gpu: Gpu

    @property
    def name(self) -> str:
        """`node/gpuN`."""
        return f"{self.node.name}/gpu{self.gpu.index}"


@dataclass
class PlatformFacts:
    """Registry + cluster state at one moment; versions are fetched on first use."""

    now: datetime
    models: dict[str, RegisteredModel]
    alias_history: list[AliasChange]
    namespaces: dict[str, Namespace]
    deployments: list[Deployment]
    pools: list[NodePool]
    nodes: list[Node]
    registry: ModelRegistry = field(repr=False)
    _versions: dict[tuple[str, int], ModelVersion] = field(default_factory=dict, repr=False)

    @classmethod
    def read(
        cls, registry: ModelRegistry, cluster: Cluster, now: datetime | None = None
    ) -> "PlatformFacts":
        """Read everything the checks need (versions lazily)."""
        return cls(
            now=now or cluster.now(),
            models={m.name: m for m in registry.list_models()},
            alias_history=registry.alias_history(),
            namespaces={ns.name: ns for ns in cluster.namespaces()},
            deployments=cluster.deployments(),
            pools=cluster.node_pools(),
            nodes=cluster.nodes(),
            registry=registry,
        )

    def version(self, model: str, version: int) -> ModelVersion | None:
        """One version's tags and lineage (no metrics), None if the registry lacks it."""
        if not self._versions:
            self._versions = {(v.model, v.version): v for v in self.registry.all_versions()}
        return self._versions.get((model, version))

    def env_of_namespace(self, name: str) -> Environment | None:
        """The environment label of a namespace (None if unknown or unlabelled)."""
        ns = self.namespaces.get(name)
        return ns.env if ns is not None else None

    def gpus(self) -> list[GpuSubject]:
        """Every GPU of every node."""
        return [GpuSubject(node, gpu) for node in self.nodes for gpu in node.gpus]

    def last_alias_targets(self) -> dict[tuple[str, str], int | None]:
        """(model, alias) -> version it was last moved to, per Lotsen's alias history."""
        last: dict[tuple[str, str], int | None] = {}
        for change in sorted(self.alias_history, key=lambda c: c.seq):
            last[(change.model, change.alias)] = change.new_version
        return last
