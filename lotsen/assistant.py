"""Wiring the ops assistant to the world: registry, cluster, remediation state, LLM tiers."""

import getpass
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from agents.assistant import AssistantAnswer, AssistantContext, answer
from llm.call import LlmContext
from llm.chat import chat_model
from llm.usage import UsageLedger
from lotsen.capacity import capacity_config
from lotsen.compliance import policies as compliance_policies
from lotsen.llm import configured_tiers
from lotsen.settings import Settings
from lotsen.world import configure_mlflow_env, current_world, open_cluster, open_registry
from memory.audit import AuditLog
from memory.remediation import RemediationStore
from tools.fleet.catalog import FleetCatalog


@contextmanager
def open_assistant(settings: Settings, user: str | None = None) -> Iterator[AssistantContext]:
    """The assistant's context for the current world; files are closed afterwards.

    Remediation state and the audit log are opened only if they exist (a question never
    creates state files). Every configured LLM tier is offered, cheapest first, with usage
    recorded in `<data_dir>/llm_usage.jsonl`.
    """
    configure_mlflow_env()
    files = current_world(settings)
    with ExitStack() as stack:
        cluster = open_cluster(settings)
        if close := getattr(cluster, "close", None):
            stack.callback(close)
        pipelines = []
        if files.fleet_db.exists():
            catalog = FleetCatalog(files.fleet_db)
            stack.callback(catalog.close)
            pipelines = catalog.pipelines()
        store = RemediationStore(files.remediation_db) if files.remediation_db.exists() else None
        if store is not None:
            stack.callback(store.close)
        audit = AuditLog(files.audit_db) if files.audit_db.exists() else None
        if audit is not None:
            stack.callback(audit.close)
        ledger = UsageLedger(settings.data_dir / "llm_usage.jsonl")
        yield AssistantContext(
            registry=open_registry(settings, files),
            cluster=cluster,
            pipelines=pipelines,
            store=store,
            audit=audit,
            llms=tuple(
                LlmContext(tier=t, model=chat_model(t), ledger=ledger)
                for t in configured_tiers(settings)
            ),
            user=user or settings.user or getpass.getuser(),
            policies=compliance_policies(settings),
            capacity=capacity_config(settings),
        )


def ask(
    settings: Settings, question: str, *, tier: str | None = None, user: str | None = None
) -> AssistantAnswer:
    """Open the world, answer one question, close it (what `lotsen ask` and evals call)."""
    with open_assistant(settings, user) as ctx:
        return answer(question, ctx, tier=tier)
