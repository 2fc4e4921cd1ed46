"""The composition root: one `World` per process, opened from `Settings`.

Everything Lotsen acts on or remembers is reached through it: registry, cluster, telemetry,
audit log, approval queue, remediation runs, incident memory, policies, the compliance gate,
LLM tiers and the clock. Each part is opened on first use (a command touches only what it
uses; heavy libraries are imported there, not at start) and closed once by `close()`.
The CLI, the eval suite and the server open the world the same way; agents receive narrow
ports built from it, never the whole world.
"""

import getpass
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Self

from tools.dir_lock import acquire_shared, release_shared
from tools.state_manifest import expect_store, record_store
from world.layout import StateFiles, WorldFiles, configure_mlflow_env, current_world
from world.settings import Settings

if TYPE_CHECKING:
    from llm.call import LlmContext
    from llm.usage import UsageLedger
    from memory.approvals import ApprovalQueue
    from memory.audit import AuditLog
    from memory.incident_memory import IncidentMemory
    from memory.remediation import RemediationStore
    from memory.users import Role, UserDirectory
    from tools.capacity.energy import CapacityConfig
    from tools.cluster.protocol import Cluster
    from tools.domain import FeaturePipeline
    from tools.policy.gate import ComplianceGate
    from tools.policy.spec import Policy
    from tools.registry import MlflowRegistry
    from tools.telemetry.store import TelemetryStore

Clock = Callable[[], datetime]
USAGE_FILE = "llm_usage.jsonl"
INCIDENT_MEMORY_KIND = "chroma"
USERS_FILE = "users.yaml"


class World:
    """One process's view of the platform, opened lazily from settings."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        """Open nothing yet; parts open on first use.

        Args:
            settings: Where everything is (data dir, MLflow, cluster, LLM tiers, policies).
            clock: Overrides the clock (tests); default: the cluster's clock, which is the
                twin's virtual clock on the embedded world and the wall clock on Kubernetes.
        """
        self.settings = settings
        self._clock = clock
        self._closers: list[Callable[[], None]] = []
        self._holds_lock = False

    def __enter__(self) -> Self:
        """Use as a context manager: closed on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close everything that was opened."""
        self.close()

    def close(self) -> None:
        """Close what was opened, newest first (idempotent)."""
        while self._closers:
            self._closers.pop()()

    # --- where things are -----------------------------------------------------------------
    @cached_property
    def files(self) -> WorldFiles:
        """The re-seedable world's files, or attach mode's (NotFoundError: neither)."""
        self._hold_data_dir()
        files = current_world(self.settings)
        self._hold_data_dir()  # attach mode may just have created the data dir
        return files

    @cached_property
    def state(self) -> StateFiles:
        """What survives a re-seed: audit log, approvals, incident memory."""
        return StateFiles.of(self.settings.data_dir, self.files)

    def _hold_data_dir(self) -> None:
        """Share the data dir's lock while open: a re-seed or restore waits for this process."""
        data_dir = self.settings.data_dir
        if self._holds_lock or not data_dir.is_dir():
            return
        acquire_shared(data_dir, self.settings.lock_wait_s)
        self._holds_lock = True
        self._closers.insert(0, self._release_data_dir)

    def _release_data_dir(self) -> None:
        release_shared(self.settings.data_dir)
        self._holds_lock = False

    # --- the platform ---------------------------------------------------------------------
    @cached_property
    def registry(self) -> "MlflowRegistry":
        """The model registry: an MLflow server if configured, else the world's SQLite file."""
        from tools.registry import AliasHistory, MlflowRegistry, sqlite_uri

        configure_mlflow_env()
        files = self.files
        uri = self.settings.mlflow_uri or sqlite_uri(files.mlflow_db)
        history = AliasHistory(files.alias_history_db)
        self._closers.append(history.close)
        return MlflowRegistry(uri, history, files.artifacts)

    @cached_property
    def cluster(self) -> "Cluster":
        """The cluster the settings point at: the twin, or a live Kubernetes cluster."""
        if self.settings.cluster == "kubernetes":
            from world.kube import kubernetes_cluster

            cluster: Cluster = kubernetes_cluster(self.settings)
        else:
            from tools.cluster.sim import SimCluster

            if self.files.attached:
                from world.attach import attached_twin

                cluster = attached_twin(self.files.cluster_db)
            else:
                cluster = SimCluster(self.files.cluster_db)
        self._closers.append(cluster.close)
        return cluster

    @cached_property
    def telemetry(self) -> "TelemetryStore":
        """The world's telemetry store (DuckDB)."""
        from tools.telemetry.store import TelemetryStore

        store = TelemetryStore(self.files.telemetry_db, self.settings.lock_wait_s)
        self._closers.append(store.close)
        return store

    @cached_property
    def pipelines(self) -> "list[FeaturePipeline]":
        """Feature pipelines of the fleet catalogue (empty when the world has none)."""
        from tools.fleet.catalog import FleetCatalog

        if not expect_store(self.files.fleet_db, "lotsen.fleet"):
            return []  # a world seeded before the catalogue existed
        catalog = FleetCatalog(self.files.fleet_db)
        try:
            return catalog.pipelines()
        finally:
            catalog.close()

    # --- what Lotsen remembers --------------------------------------------------------------
    @cached_property
    def audit(self) -> "AuditLog":
        """The hash-chained audit log, signed with the key of LOTSEN_AUDIT_KEY_FILE."""
        from memory.audit import AuditLog
        from memory.audit_anchor import default_key_file, local_witness
        from tools.errors import ConfigError

        data_dir = self.settings.data_dir
        key_file = self.settings.audit_key_file or default_key_file()
        if key_file.resolve().is_relative_to(data_dir.resolve()):
            raise ConfigError(
                f"the audit key {key_file} is inside the data dir {data_dir}, where whoever "
                "can edit the log can read it; set LOTSEN_AUDIT_KEY_FILE to a path outside it"
            )
        state = self.state
        legacy = self.files.legacy_audit_db  # a log of the older layout was moved to state/:
        witness, moved = local_witness(state.audit_db), local_witness(legacy)  # its witness too
        if moved.exists() and not legacy.exists() and not witness.exists():
            moved.replace(witness)
        log = AuditLog(state.audit_db, key_file=key_file, data_dir=data_dir)
        self._closers.append(log.close)
        return log

    @cached_property
    def approvals(self) -> "ApprovalQueue":
        """The one approval queue of every agent."""
        from memory.approvals import ApprovalQueue

        new = not self.state.approvals_db.exists()
        queue = ApprovalQueue(self.state.approvals_db)
        self._closers.append(queue.close)
        if new and self.files.remediation_db.exists():
            from world.legacy import adopt_legacy_approvals

            adopt_legacy_approvals(queue, self.runs)
        return queue

    @cached_property
    def runs(self) -> "RemediationStore":
        """Remediation runs, data incidents, quarantine and watch list."""
        from memory.remediation import RemediationStore

        store = RemediationStore(self.files.remediation_db)
        self._closers.append(store.close)
        return store

    @cached_property
    def memory(self) -> "IncidentMemory":
        """Past incidents and runbooks (Chroma), retrieved as evidence."""
        from memory.embedding import OpenAIEmbedding
        from memory.incident_memory import IncidentMemory

        s = self.settings
        embedding = None
        if s.embeddings_url is not None:
            key = s.embeddings_api_key.get_secret_value() if s.embeddings_api_key else None
            embedding = OpenAIEmbedding(s.embeddings_url, s.embeddings_model, key)
        path = self.state.incident_memory
        listed = expect_store(path, INCIDENT_MEMORY_KIND)
        memory = IncidentMemory(path, embedding)
        if not listed:
            record_store(path, INCIDENT_MEMORY_KIND)
        return memory

    # --- rules ------------------------------------------------------------------------------
    @cached_property
    def policies(self) -> "list[Policy]":
        """The one policy source: shipped policies plus LOTSEN_POLICY_FILES."""
        from tools.policy.spec import load_policies

        return load_policies(list(self.settings.policy_files))

    @cached_property
    def capacity(self) -> "CapacityConfig":
        """Prices, carbon curve and thresholds of the capacity planner."""
        from tools.capacity.energy import CapacityConfig, load_carbon_curve

        s = self.settings
        return CapacityConfig(
            gpu_hour_price=dict(s.gpu_hour_price),
            carbon=load_carbon_curve(s.carbon_curve_file),
            idle_days=s.scale_to_zero_days,
            retrain_deadline_hours=s.retrain_deadline_hours,
        )

    @property
    def approval_ttl(self) -> timedelta:
        """How long an approval request stays open (LOTSEN_APPROVAL_TTL_HOURS)."""
        return timedelta(hours=self.settings.approval_ttl_hours)

    def clock(self) -> datetime:
        """Now, for every rule that depends on time (gate, approvals, scans, capacity)."""
        if self._clock is not None:
            return self._clock()
        if self.settings.cluster == "sim" and self.files.attached:
            return datetime.now(UTC)  # attach mode's empty twin: its virtual clock stands still
        return self.cluster.now()

    def gate(self) -> "ComplianceGate":
        """The compliance gate over this world, with its policies, at its clock."""
        from tools.policy.gate import ComplianceGate

        return ComplianceGate(self.registry, self.cluster, self.policies, now=self.clock())

    @cached_property
    def users(self) -> "UserDirectory":
        """The users file (LOTSEN_USERS_FILE, else `<data_dir>/state/users.yaml`)."""
        from memory.users import UserDirectory

        path = self.settings.users_file or self.settings.data_dir / "state" / USERS_FILE
        return UserDirectory(path)

    def user(self, override: str | None = None, role: "Role" = "operator") -> str:
        """Who is acting, normalised and checked against the users file for `role`.

        The name is an explicit one (`--as`), else LOTSEN_USER, else the OS user.

        Raises:
            ConfigError: a malformed name, or (with a users file) an unknown user or one
                without `role`.
        """
        name = override if override is not None else self.settings.user or getpass.getuser()
        return self.users.authorise(name, role)

    # --- LLM tiers --------------------------------------------------------------------------
    @cached_property
    def ledger(self) -> "UsageLedger":
        """Where LLM usage is recorded (`<data_dir>/llm_usage.jsonl`)."""
        from llm.usage import UsageLedger

        return UsageLedger(self.settings.data_dir / USAGE_FILE)

    @cached_property
    def llms(self) -> "tuple[LlmContext, ...]":
        """Every configured tier, cheapest first (empty: tier 0 only)."""
        from world.llm import configured_tiers

        tiers = configured_tiers(self.settings)
        if not tiers:  # tier 0 only: LangChain is not imported
            return ()
        from llm.call import LlmContext
        from llm.chat import chat_model

        return tuple(LlmContext(tier=t, model=chat_model(t), ledger=self.ledger) for t in tiers)

    def llm(self, tier: str | None = None, task: str | None = None) -> "LlmContext | None":
        """One tier by name, else the router's choice for `task`, else the cheapest.

        `task` is a task class such as `retrainer/decide`. None: tier 0 is to decide (no
        LLM tier configured, or the router chose the deterministic core).
        """
        from world.llm import llm_context, routed_llm

        if tier is None and task is not None:
            return routed_llm(self, task)
        return llm_context(self.settings, tier, self.ledger)
