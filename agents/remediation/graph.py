"""The remediation workflow as a LangGraph graph: decide -> gate -> (approval) -> execute.

One thread per incident, checkpointed after every node, so a crash resumes where it stopped
and an approval can arrive hours later from another process (`interrupt()` / `Command`).

The state is a pydantic model: LangGraph validates each node's input into
`RemediationState`, so nodes work on typed values, and a checkpoint written by an older
Lotsen (plain dicts, fewer keys) still loads. The checkpointer revives exactly the state's
types (`checkpoint_serde`), nothing else a checkpoint might name.
"""

from enum import Enum
from typing import Any, Literal, TypedDict, get_args

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, Field

from agents.remediation import promotion_nodes
from agents.remediation.correlate import events_around
from agents.remediation.executor import ACTOR, ActionResult, RemediationWorld, execute
from agents.remediation.gate import GateResult, proposed_actions, review
from agents.remediation.plan import (
    EXPIRED,
    MUTATING,
    Action,
    PlanChoice,
    RemediationPlan,
    allowed_for,
    approval_key,
    tier0_plan,
)
from agents.remediation.promotion_nodes import decided, pending_promotions
from llm.call import LlmContext
from llm.structured import Decision as LlmDecision
from llm.structured import decide, schema_json
from llm.tiers import TIER0
from llm.usage import UsageRecord
from memory.approvals import Decision, NewRequest
from memory.remediation import RunStatus
from prompts import RenderedPrompt, render_prompt
from tools.domain import RegisteredModel
from tools.drift.incidents import Incident
from tools.policy.action import ProposedAction
from tools.registry import CHAMPION


class RemediationState(BaseModel):
    """What the graph carries between nodes (checkpointed)."""

    incident: Incident
    plan: RemediationPlan | None = None
    """The decision (set by `decide`, so every later node has it)."""
    models: dict[str, RegisteredModel] = Field(default_factory=dict)
    """The models a mutating plan acts on, as `decide` read them (see `execute`)."""
    champions: dict[str, int] = Field(default_factory=dict)
    """Each model's champion when the plan was made (0: none): what a rollback undoes."""
    gate: GateResult | None = None
    """The gate's verdict on the plan (set by `gate`)."""
    approval: Decision | None = None
    """The human decision, when the gate asked for one."""
    results: list[ActionResult] = Field(default_factory=list)
    promotion_approval: Decision | None = None
    """The human decision on the promotion of winning challengers (a second request)."""
    status: RunStatus | None = None


class StateUpdate(TypedDict, total=False):
    """What a node changes in `RemediationState`."""

    plan: RemediationPlan
    models: dict[str, RegisteredModel]
    champions: dict[str, int]
    gate: GateResult
    approval: Decision
    results: list[ActionResult]
    promotion_approval: Decision
    status: RunStatus


def checkpoint_serde() -> JsonPlusSerializer:
    """The checkpointers' serializer: it revives the state's own types and no others."""
    return JsonPlusSerializer(allowed_msgpack_modules=sorted(_state_types(RemediationState)))


def _state_types(tp: Any, found: set[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    """(module, name) of every pydantic model and enum a checkpoint of `tp` may hold."""
    found = set() if found is None else found
    if isinstance(tp, type) and issubclass(tp, BaseModel | Enum):
        key = (tp.__module__, tp.__name__)  # as the serializer names them
        if key in found:
            return found
        found.add(key)
        if issubclass(tp, BaseModel):
            for field in tp.model_fields.values():
                _state_types(field.annotation, found)
    for arg in get_args(tp):
        _state_types(arg, found)
    return found


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
    graph.add_node("promotion_approval", nodes.promotion_approval)
    graph.add_node("promote", nodes.promote)
    graph.add_node("finish", nodes.finish)
    graph.add_edge(START, "decide")
    graph.add_edge("decide", "gate")
    graph.add_conditional_edges("gate", _after_gate)
    graph.add_conditional_edges("approval", _after_approval)
    graph.add_conditional_edges("execute", _after_execute)
    graph.add_conditional_edges("promotion_approval", _after_promotion_approval)
    graph.add_edge("promote", "finish")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)


def _after_gate(state: RemediationState) -> Literal["approval", "execute", "finish"]:
    verdict = decided(state.gate, "gate").verdict
    return (
        "execute" if verdict == "allow" else "approval" if verdict == "needs_approval" else "finish"
    )


def _after_approval(state: RemediationState) -> Literal["execute", "finish"]:
    return "execute" if decided(state.approval, "approval").approved else "finish"


def _after_execute(state: RemediationState) -> Literal["promotion_approval", "finish"]:
    return "promotion_approval" if pending_promotions(state) else "finish"


def _after_promotion_approval(state: RemediationState) -> Literal["promote", "finish"]:
    return (
        "promote" if decided(state.promotion_approval, "promotion_approval").approved else "finish"
    )


def _thread(config: RunnableConfig) -> str:
    return str(config["configurable"]["thread_id"])


class _Nodes:
    def __init__(self, world: RemediationWorld, llm: LlmContext | None, proposer: str) -> None:
        self.world, self.llm, self.proposer = world, llm, proposer

    def decide(self, state: RemediationState) -> StateUpdate:
        incident = state.incident
        fallback = tier0_plan(incident, events_around(incident, self.world.events))
        memory = self.world.memory
        recalled = memory.similar(_evidence(incident), k=3) if memory is not None else []
        evidence = _evidence(incident) + "".join(
            f"\n- similar {r.kind} {r.id} (outcome: {r.outcome}): {r.text[:200]}" for r in recalled
        )
        allowed = allowed_for(fallback)
        prompt = render_prompt(
            "structured_decision",
            agent="retrainer",
            task=f"choose the remediation for a {incident.kind} incident "
            f"(allowed actions: {_listed(allowed)})",
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
        llm_choice = choice.value.action if choice.source == "llm" else None
        fallback_reason = choice.fallback_reason
        if llm_choice is not None and llm_choice not in allowed:
            # the LLM may pick among the kind's admissible actions only (plan.ADMISSIBLE)
            fallback_reason = (
                f"llm chose {llm_choice.value}, not admissible for {incident.kind} "
                f"(admissible: {_listed(allowed)})"
            )
            choice = self._inadmissible(choice, fallback, fallback_reason, prompt, incident.kind)
        plan = fallback.model_copy(
            update={
                "action": choice.value.action,
                "reason": choice.value.reason,
                "decided_by": choice.tier,
                "prompt_sha256": choice.prompt_sha256,
            }
        )
        # Read once, here, for the rest of the run: execute uses these (owner, env,
        # features, and the champion the plan was made against) instead of re-reading.
        # What the run itself changes (versions, aliases) is read fresh where it is needed.
        models = (
            {m: self.world.registry.get_model(m) for m in incident.models}
            if plan.action in MUTATING
            else {}
        )
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
                "cause_event": plan.cause_event.id if plan.cause_event else None,
                "fallback": fallback_reason,
                "llm_choice": llm_choice.value if llm_choice is not None else None,
                "similar": [r.id for r in recalled],
            },
        )
        return {
            "plan": plan,
            "models": models,
            "champions": {m: r.aliases.get(CHAMPION, 0) for m, r in models.items()},
        }

    def _inadmissible(
        self,
        choice: LlmDecision[PlanChoice],
        fallback: RemediationPlan,
        reason: str,
        prompt: RenderedPrompt,
        kind: str,
    ) -> LlmDecision[PlanChoice]:
        """Tier 0's decision in place of an LLM choice the incident kind does not admit."""
        if self.llm is not None:
            self.llm.ledger.add(
                UsageRecord(
                    agent="retrainer",
                    task=f"remediation/{kind}",
                    tier=TIER0,
                    prompt=prompt.name,
                    prompt_sha256=prompt.sha256,
                    outcome="fallback",
                    detail=f"tier {choice.tier}: {reason}",
                )
            )
        return choice.model_copy(
            update={
                "value": PlanChoice(action=fallback.action, reason=fallback.reason),
                "source": "tier0",
                "tier": TIER0,
                "fallback_reason": reason,
            }
        )

    def gate(self, state: RemediationState) -> StateUpdate:
        plan = decided(state.plan, "plan")
        result = review(plan, self.world.compliance_gate(), self.proposer)
        self.world.audit.append(
            "gate",
            actor="compliance-gate",
            incident=plan.incident_id,
            idempotency_key=f"{plan.incident_id}:gate",
            data=result.model_dump(mode="json"),
        )
        update: StateUpdate = {"gate": result}
        if result.verdict == "deny":
            update["status"] = "rejected"
        return update

    def approval(self, state: RemediationState, config: RunnableConfig) -> StateUpdate:
        plan, gate = decided(state.plan, "plan"), decided(state.gate, "gate")
        thread = _thread(config)
        # The human's decision arrives as JSON from another process (`Command(resume=...)`).
        # A request that expired unanswered is proposed anew (`EXPIRED` resumes the run):
        # each proposal is one interrupt, replayed in order when the node runs again.
        proposals = 0
        resumed = interrupt(self._propose(plan, gate, thread, proposals))
        while isinstance(resumed, dict) and resumed.get(EXPIRED):
            proposals += 1
            resumed = interrupt(self._propose(plan, gate, thread, proposals))
        decision = Decision.model_validate(resumed)
        decision = self._bound(decision, plan, thread)
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
        update: StateUpdate = {"approval": decision}
        if not decision.approved:
            update["status"] = "rejected"
        return update

    def _propose(
        self, plan: RemediationPlan, gate: GateResult, thread: str, earlier: int
    ) -> dict[str, Any]:
        """Queue the plan for a human (the live request, if one is queued) and say so.

        `earlier`: how many requests of this run expired before this one (keys the audit).
        """
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
            idempotency_key=f"{plan.incident_id}:approval_requested"
            + (f":{earlier + 1}" if earlier else ""),
            data={"approval_id": request.id, "reasons": gate.reasons},
        )
        self.world.store.set_run(thread, "waiting_approval", now)
        return {
            "approval_id": request.id,
            "action": plan.action.value,
            "models": plan.models,
            "reasons": gate.reasons,
        }

    def _bound(
        self,
        decision: Decision,
        plan: RemediationPlan,
        thread: str,
        actions: list[ProposedAction] | None = None,
        void_kind: str = "approval_void",
    ) -> Decision:
        """An approval counts only for the exact actions it was given for; else it is void."""
        exact = proposed_actions(plan, self.proposer) if actions is None else actions
        return promotion_nodes.bound(self.world, decision, plan, thread, exact, void_kind)

    def execute(self, state: RemediationState) -> StateUpdate:
        incident = state.incident
        results = execute(
            decided(state.plan, "plan"),
            decided(state.gate, "gate"),
            state.champions,
            self.world,
            pipeline=incident.pipeline,
            window=incident.window_start,
            cause=incident.probable_cause,
            approval=state.approval,
            models=state.models,
        )
        return {"results": results, "status": "done" if all(r.ok for r in results) else "failed"}

    def promotion_approval(self, state: RemediationState, config: RunnableConfig) -> StateUpdate:
        """Ask a human to approve the promotion itself (after training ended), and wait."""
        return promotion_nodes.promotion_approval(self, state, config)

    def promote(self, state: RemediationState) -> StateUpdate:
        """Promote each approved challenger (its job finished, @challenger still it)."""
        return promotion_nodes.promote_node(self, state)

    def finish(self, state: RemediationState, config: RunnableConfig) -> StateUpdate:
        plan = decided(state.plan, "plan")
        status = state.status or "done"
        summary = "; ".join(f"{r.model}: {r.summary}" for r in state.results) or status
        if self.world.memory is not None:
            incident = state.incident
            outcome = f"{status}: {summary}"[:500]
            self.world.memory.remember(incident.id, incident.kind, _evidence(incident), outcome)
        self.world.audit.append(
            "finished",
            actor=ACTOR,
            incident=plan.incident_id,
            idempotency_key=f"{plan.incident_id}:finished",
            data={"status": status, "summary": summary},
        )
        # last: a run marked finished is never resumed, so everything above (idempotent)
        # must be on record before; a crash before this line re-runs the node on resume
        self.world.store.set_run(_thread(config), status, self.world.clock(), summary)
        return {"status": status}


def _listed(actions: frozenset[Action]) -> str:
    return ", ".join(sorted(a.value for a in actions))


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
