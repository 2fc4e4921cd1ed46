"""The remediation workflow as a LangGraph graph: decide -> gate -> (approval) -> execute.

One thread per incident, checkpointed after every node, so a crash resumes where it stopped
and an approval can arrive hours later from another process (`interrupt()` / `Command`).
"""

from typing import Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from agents.remediation.executor import ACTOR, RemediationWorld, execute
from agents.remediation.gate import GateResult, proposed_actions, review
from agents.remediation.plan import PlanChoice, RemediationPlan, approval_key, tier0_plan
from llm.call import LlmContext
from llm.structured import decide, schema_json
from memory.approvals import Decision, NewRequest
from prompts import render_prompt
from tools.drift.incidents import Incident
from tools.registry import CHAMPION


class RemediationState(TypedDict, total=False):
    """What the graph carries between nodes (JSON-friendly, checkpointed)."""

    incident: dict[str, Any]
    plan: dict[str, Any]
    champions: dict[str, int]
    gate: dict[str, Any]
    approval: dict[str, Any]
    results: list[dict[str, Any]]
    status: str


def build_graph(
    world: RemediationWorld, llm: LlmContext | None, proposer: str, checkpointer: Any
) -> Any:
    """Compile the workflow over a world, an optional LLM tier and a checkpointer."""
    nodes = _Nodes(world, llm, proposer)
    graph = StateGraph(RemediationState)
    graph.add_node("decide", nodes.decide)
    graph.add_node("gate", nodes.gate)
    graph.add_node("approval", nodes.approval)
    graph.add_node("execute", nodes.execute)
    graph.add_node("finish", nodes.finish)
    graph.add_edge(START, "decide")
    graph.add_edge("decide", "gate")
    graph.add_conditional_edges("gate", _after_gate)
    graph.add_conditional_edges("approval", _after_approval)
    graph.add_edge("execute", "finish")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)


def _after_gate(state: RemediationState) -> Literal["approval", "execute", "finish"]:
    verdict = state["gate"]["verdict"]
    return (
        "execute" if verdict == "allow" else "approval" if verdict == "needs_approval" else "finish"
    )


def _after_approval(state: RemediationState) -> Literal["execute", "finish"]:
    return "execute" if state["approval"]["approved"] else "finish"


def _thread(config: RunnableConfig) -> str:
    return str(config["configurable"]["thread_id"])


class _Nodes:
    def __init__(self, world: RemediationWorld, llm: LlmContext | None, proposer: str) -> None:
        self.world, self.llm, self.proposer = world, llm, proposer

    def decide(self, state: RemediationState) -> RemediationState:
        incident = Incident.model_validate(state["incident"])
        fallback = tier0_plan(incident)
        memory = self.world.memory
        recalled = memory.similar(_evidence(incident), k=3) if memory is not None else []
        evidence = _evidence(incident) + "".join(
            f"\n- similar {r.kind} {r.id} (outcome: {r.outcome}): {r.text[:200]}" for r in recalled
        )
        prompt = render_prompt(
            "structured_decision",
            agent="retrainer",
            task=f"choose the remediation for a {incident.kind} incident",
            evidence=evidence,
            schema_json=schema_json(PlanChoice),
        )
        choice = decide(
            PlanChoice,
            prompt,
            f"Incident {incident.id}: choose one action.",
            self.llm,
            lambda: PlanChoice(action=fallback.action, reason=fallback.reason),
            agent="retrainer",
            task=f"remediation/{incident.kind}",
        )
        plan = fallback.model_copy(
            update={
                "action": choice.value.action,
                "reason": choice.value.reason,
                "decided_by": choice.tier,
                "prompt_sha256": choice.prompt_sha256,
            }
        )
        champions = {
            m: self.world.registry.get_model(m).aliases.get(CHAMPION, 0) for m in incident.models
        }
        self.world.audit.append(
            "decision",
            actor="retrainer",
            incident=incident.id,
            idempotency_key=f"{incident.id}:decision",
            data={
                "action": plan.action.value,
                "reason": plan.reason,
                "tier": plan.decided_by,
                "prompt_sha256": plan.prompt_sha256,
                "models": incident.models,
                "cause": incident.probable_cause,
                "fallback": choice.fallback_reason,
                "similar": [r.id for r in recalled],
            },
        )
        return {"plan": plan.model_dump(mode="json"), "champions": champions}

    def gate(self, state: RemediationState) -> RemediationState:
        plan = RemediationPlan.model_validate(state["plan"])
        result = review(plan, self.world.compliance_gate(), self.proposer)
        self.world.audit.append(
            "gate",
            actor="compliance-gate",
            incident=plan.incident_id,
            idempotency_key=f"{plan.incident_id}:gate",
            data=result.model_dump(mode="json"),
        )
        update: RemediationState = {"gate": result.model_dump(mode="json")}
        if result.verdict == "deny":
            update["status"] = "rejected"
        return update

    def approval(self, state: RemediationState, config: RunnableConfig) -> RemediationState:
        plan = RemediationPlan.model_validate(state["plan"])
        gate = GateResult.model_validate(state["gate"])
        thread = _thread(config)
        now = self.world.clock()
        request = self.world.approvals.submit(
            NewRequest(
                key=approval_key(thread),
                agent="remediation",
                action=plan.action.value,
                actions=proposed_actions(plan, self.proposer),
                models=plan.models,
                reasons=gate.reasons,
                verdict=gate.verdict,
                proposer=self.proposer,
                incident_id=plan.incident_id,
                handle=thread,
            ),
            now,
            self.world.approval_ttl,
        )
        self.world.audit.append(
            "approval_requested",
            actor=self.proposer,
            incident=plan.incident_id,
            idempotency_key=f"{plan.incident_id}:approval_requested",
            data={"approval_id": request.id, "reasons": gate.reasons},
        )
        self.world.store.set_run(thread, "waiting_approval", now)
        decision = Decision.model_validate(
            interrupt(
                {
                    "approval_id": request.id,
                    "action": plan.action.value,
                    "models": plan.models,
                    "reasons": gate.reasons,
                }
            )
        )
        self.world.audit.append(
            "approved" if decision.approved else "rejected",
            actor=decision.by,
            incident=plan.incident_id,
            idempotency_key=f"{plan.incident_id}:decision_by_human",
            data={
                "approval_id": decision.request_id,
                "proposer": self.proposer,
                "note": decision.note,
            },
        )
        self.world.store.set_run(thread, "running", self.world.clock())
        update: RemediationState = {"approval": decision.model_dump(mode="json")}
        if not decision.approved:
            update["status"] = "rejected"
        return update

    def execute(self, state: RemediationState) -> RemediationState:
        incident = Incident.model_validate(state["incident"])
        results = execute(
            RemediationPlan.model_validate(state["plan"]),
            GateResult.model_validate(state["gate"]),
            state.get("champions", {}),
            self.world,
            pipeline=incident.pipeline,
            window=incident.window_start,
            cause=incident.probable_cause,
            approval=_decision(state.get("approval")),
        )
        status = "done" if all(r.ok for r in results) else "failed"
        return {"results": [r.model_dump() for r in results], "status": status}

    def finish(self, state: RemediationState, config: RunnableConfig) -> RemediationState:
        status = state.get("status", "done")
        summary = (
            "; ".join(f"{r['model']}: {r['summary']}" for r in state.get("results", [])) or status
        )
        self.world.store.set_run(_thread(config), status, self.world.clock(), summary)  # type: ignore[arg-type]
        if self.world.memory is not None:
            incident = Incident.model_validate(state["incident"])
            outcome = f"{status}: {summary}"[:500]
            self.world.memory.remember(incident.id, incident.kind, _evidence(incident), outcome)
        self.world.audit.append(
            "finished",
            actor=ACTOR,
            incident=state["plan"]["incident_id"],
            idempotency_key=f"{state['plan']['incident_id']}:finished",
            data={"status": status, "summary": summary},
        )
        return {"status": status}


def _decision(approval: dict[str, Any] | None) -> Decision | None:
    """The human decision a plan got, None when none was needed."""
    return None if approval is None else Decision.model_validate(approval)


def _evidence(incident: Incident) -> str:
    lines = [
        f"kind: {incident.kind}",
        f"probable cause: {incident.probable_cause}",
        f"models ({len(incident.models)}): {', '.join(incident.models[:20])}",
    ]
    if incident.features:
        lines.append(f"features: {', '.join(incident.features)}")
    lines += [f"- {e}" for e in incident.evidence[:10]]
    return "\n".join(lines)
