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

    One instance is one consistent moment for a scan or a gate review: every part, and
    every model or model's versions asked for one by one, is read at most once. Build a new
    instance to see later changes.
    """

    def __init__(
        self, registry: ModelRegistry, cluster: Cluster, now: datetime | None = None
    ) -> None:
        """Facts of this registry and cluster (`now` defaults to the cluster's clock)."""
        self.registry, self.cluster = registry, cluster
        self.now = now or cluster.now()
        self._versions: dict[tuple[str, int], ModelVersion] = {}
        self._models_read: set[str] = set()
        self._model_reads: dict[str, RegisteredModel | str] = {}
        """Models read one by one: the model, or why there is none (NotFoundError's message)."""

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
        """One model, None if the registry has none of that name (see `get_model`)."""
        try:
            return self.get_model(name)
        except NotFoundError:
            return None

    def get_model(self, name: str) -> RegisteredModel:
        """One model, read at most once (without listing them all unless they were listed).

        Raises:
            NotFoundError: the registry has no such model (its message, every time asked).
        """
        if "models" in self.__dict__:
            if name in self.models:
                return self.models[name]
            raise NotFoundError(_unknown_model(name))
        if name not in self._model_reads:
            if "/" in name or ":" in name:  # a deployment or GPU name, never a model
                self._model_reads[name] = _unknown_model(name)
            else:
                try:
                    self._model_reads[name] = self.registry.get_model(name)
                except NotFoundError as exc:
                    self._model_reads[name] = str(exc)
        found = self._model_reads[name]
        if isinstance(found, str):
            raise NotFoundError(found)
        return found

    def version(self, model: str, version: int) -> ModelVersion | None:
        """One version's tags and lineage (no metrics), None if the registry lacks it."""
        if (model, version) not in self._versions and model not in self._models_read:
            everything = "models" in self.__dict__  # a full scan: one query for all
            for v in self.registry.all_versions(None if everything else model):
                self._versions[(v.model, v.version)] = v
                self._models_read.add(v.model)
            self._models_read.add(model)
        return self._versions.get((model, version))

    def namespace(self, name: str) -> Namespace | None:
        """One namespace, from the one listing (namespace policies need them all anyway)."""
        return self.namespaces.get(name)

    def env_of_namespace(self, name: str) -> Environment | None:
        """The environment label of a namespace (None if unknown or unlabelled)."""
        ns = self.namespace(name)
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


def _unknown_model(name: str) -> str:
    return f"unknown model {name!r}; `lotsen models list` shows the registered ones"
