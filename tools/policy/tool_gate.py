"""The mutation gate for tool calls: environment limits, then the compliance gate.

A tool declares the environments it may touch; a call aimed elsewhere is refused before the
compliance gate is even asked. A call the gate allows runs; one that needs a human is refused
with the reasons (chat cannot wait for an approval: propose it through the workflow); a
denied one is refused.
"""

from dataclasses import dataclass

from pydantic import BaseModel

from tools.domain import Environment
from tools.errors import NotFoundError
from tools.policy.action import ActionKind, ProposedAction
from tools.policy.gate import ComplianceGate
from tools.registry.tag_contract import strictest_env
from tools.runtime.spec import ToolSpec


def proposal_for(tool: str, args: BaseModel, proposer: str) -> ProposedAction | None:
    """The `ProposedAction` a mutating catalogue tool call stands for (None: unknown tool)."""
    a = args.model_dump(mode="json")
    if tool == "set_model_alias":
        return ProposedAction(
            kind=ActionKind.SET_ALIAS,
            proposer=proposer,
            model=a["name"],
            alias=a["alias"],
            version=a["version"],
            detail=f"point {a['name']}@{a['alias']} at v{a['version']}",
        )
    if tool == "scale_deployment":
        return ProposedAction(
            kind=ActionKind.SCALE,
            proposer=proposer,
            namespace=a["namespace"],
            deployment=a["name"],
            replicas=a["replicas"],
            detail=f"scale {a['namespace']}/{a['name']} to {a['replicas']} replica(s)",
        )
    if tool == "submit_retrain_job":
        return ProposedAction(
            kind=ActionKind.RETRAIN,
            proposer=proposer,
            model=a["model"],
            namespace=a["namespace"],
            detail=f"retrain {a['model']} in {a['namespace']}",
        )
    return None


@dataclass
class ComplianceToolGate:
    """`MutationGate` for the tool runner."""

    gate: ComplianceGate
    proposer: str

    def review(self, spec: ToolSpec, args: BaseModel) -> str | None:
        """None to run the call; otherwise why it does not run."""
        action = proposal_for(spec.name, args, self.proposer)
        if action is None:
            return f"{spec.name} has no compliance mapping; it is never run from a tool call"
        env = self._env(action)
        if env is not None and env not in spec.environments:
            allowed = ", ".join(sorted(e.value for e in spec.environments))
            return f"{spec.name} may only touch {allowed}; this call targets {env.value}"
        decision = self.gate.review(action)
        if decision.verdict == "allow":
            return None
        verdict = "denied" if decision.verdict == "deny" else "needs a human approval"
        return f"{spec.name} {verdict}: " + "; ".join(decision.reasons)

    def _env(self, action: ProposedAction) -> Environment | None:
        try:
            if action.model is not None:
                return strictest_env(self.gate.registry.get_model(action.model).env)
            if action.namespace is not None:
                return self.gate.cluster.namespace(action.namespace).env
        except NotFoundError:
            return None
        return None
