"""The tools agents may call: read-only by default, mutating ones behind the gate."""

from tools.catalog.capacity_tools import capacity_report, capacity_savings, low_carbon_window
from tools.catalog.cluster_tools import (
    get_deployment,
    gpu_usage,
    list_deployments,
    list_jobs,
    namespace_quotas,
    scale_deployment,
    submit_retrain_job,
)
from tools.catalog.compliance_tools import compliance_findings, review_action
from tools.catalog.context import ToolContext
from tools.catalog.drift_tools import drift_status
from tools.catalog.node_tools import get_job, list_nodes, policy_text
from tools.catalog.registry_tools import alias_history, get_model, list_models, set_model_alias
from tools.runtime.spec import ToolSpec

ALL_TOOLS: tuple[ToolSpec, ...] = (
    list_models,
    get_model,
    alias_history,
    list_deployments,
    get_deployment,
    gpu_usage,
    namespace_quotas,
    list_jobs,
    get_job,
    list_nodes,
    drift_status,
    policy_text,
    capacity_report,
    capacity_savings,
    low_carbon_window,
    compliance_findings,
    review_action,
    set_model_alias,
    scale_deployment,
    submit_retrain_job,
)
READ_ONLY_TOOLS = tuple(t for t in ALL_TOOLS if not t.mutating)

__all__ = ["ALL_TOOLS", "READ_ONLY_TOOLS", "ToolContext"]
