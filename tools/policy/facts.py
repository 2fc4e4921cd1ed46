"""The state policies are checked on: one consistent read of registry and cluster."""

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

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
from tools.errors import NotFoundError
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


class PlatformFacts:
    """Registry + cluster state as policies see it; each part is read on first use.

    One instance is one consistent moment for a scan: every part is read at most once.
    """

    def __init__(
        self, registry: ModelRegistry, cluster: Cluster, now: datetime | None = None
    ) -> None:
        """Facts of this registry and cluster (`now` defaults to the cluster's clock)."""
        self.registry, self.cluster = registry, cluster
        self.now = now or cluster.now()
        self._versions: dict[tuple[str, int], ModelVersion] = {}
        self._models_read: set[str] = set()

    @cached_property
    def models(self) -> dict[str, RegisteredModel]:
        """Registered models by name."""
        return {m.name: m for m in self.registry.list_models()}

    @cached_property
    def alias_history(self) -> list[AliasChange]:
        """Lotsen's audited alias moves."""
        return self.registry.alias_history()

    @cached_property
    def namespaces(self) -> dict[str, Namespace]:
        """Namespaces by name."""
        return {ns.name: ns for ns in self.cluster.namespaces()}

    @cached_property
    def deployments(self) -> list[Deployment]:
        """Model deployments."""
        return self.cluster.deployments()

    @cached_property
    def pools(self) -> list[NodePool]:
        """Node pools."""
        return self.cluster.node_pools()

    @cached_property
    def nodes(self) -> list[Node]:
        """GPU nodes."""
        return self.cluster.nodes()

    def model(self, name: str) -> RegisteredModel | None:
        """One model (without listing them all unless they were listed already)."""
        if "models" in self.__dict__:
            return self.models.get(name)
        if "/" in name or ":" in name:  # a deployment or GPU name, never a model
            return None
        try:
            return self.registry.get_model(name)
        except NotFoundError:
            return None

    def version(self, model: str, version: int) -> ModelVersion | None:
        """One version's tags and lineage (no metrics), None if the registry lacks it."""
        if (model, version) not in self._versions and model not in self._models_read:
            everything = "models" in self.__dict__  # a full scan: one query for all
            for v in self.registry.all_versions(None if everything else model):
                self._versions[(v.model, v.version)] = v
                self._models_read.add(v.model)
            self._models_read.add(model)
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
