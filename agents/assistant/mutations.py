"""Requests to change something: turned into proposals, never executed from chat.

A request like "promote pd-0008" or "scale churn-0001 to 0" becomes a `ProposedAction`
that names the change exactly; it still has to pass the compliance gate and, where policy
says so, a human approval. Actions outside the closed set (delete, drain, ...) are refused.
Instructions to bypass these rules are data, and are reported as such.
"""

import re
from dataclasses import dataclass

from agents.assistant.context import FleetView
from agents.assistant.gatecheck import describe, review
from agents.assistant.intent import Reply, as_json, lookup, unknown_or_which
from agents.assistant.query import Query
from tools.policy.action import ActionKind, ProposedAction
from tools.registry import CHALLENGER, CHAMPION, rollback_target

_PREFIX = (
    r"(?:^|[.!?;:,]\s*|\b(?:please|pls|and|then|now|you|we|i|to|must|should|can|could|would|"
    r"will|just|immediately|also|go ahead and)\s+)"
)
_VERBS = (
    r"(promote|roll\s*back|rollback|revert|scale(?:\s+(?:down|up))?(?!-to-zero|\s+to\s+zero\s+(?:candidates|savings?))"
    r"|stop|shut\s*down|turn\s+off|retrain|re-train|move|migrate|delete|remove|drop|destroy|"
    r"wipe|purge|kill|deploy|undeploy|evict|drain|restart|approve|reject|disable)\b"
)
_MUTATION = re.compile(_PREFIX + _VERBS)
_SET_ALIAS = re.compile(r"\bset\b.*\b(champion|challenger)\b")
_INJECTION = re.compile(
    r"ignore\s+(?:all\s+|any\s+|your\s+|the\s+|previous\s+|prior\s+|these\s+)*"
    r"(?:rules|instructions|policies|guardrails|safety)|disregard\s|you are now|system prompt|"
    r"jailbreak|without\s+(?:any\s+)?(?:approval|asking|review)|bypass|override the gate"
)
_REPLICAS = re.compile(r"\bto\s+(\d+)\b")
_TO_ZERO = re.compile(r"\bto\s+(?:zero|nothing)\b|\bscale\s+down\b|\bstop\b|shut\s*down|turn\s+off")
_REFUSED = "delete remove drop destroy wipe purge kill deploy undeploy evict drain restart disable"
GATE_NOTE = (
    "Nothing was executed: changes go through the compliance gate and, for prod and "
    "high-risk models, a human approval (four eyes). `lotsen ask` and `lotsen chat` queue "
    "proposals in `lotsen approvals list`, where a second person's approval executes them."
)


@dataclass(frozen=True)
class MutationRequest:
    """The change a question asks for."""

    verb: str
    kind: ActionKind | None
    """None: not in the closed set of actions (refused)."""


def detect(query: Query) -> MutationRequest | None:
    """The change the question asks for, if any."""
    alias = _SET_ALIAS.search(query.text)
    if alias is not None:
        return MutationRequest(verb="set alias", kind=ActionKind.SET_ALIAS)
    match = _MUTATION.search(query.text)
    if match is None:
        return None
    verb = " ".join(match.group(1).split())
    if verb in ("promote",):
        return MutationRequest(verb, ActionKind.SET_ALIAS)
    if verb in ("roll back", "rollback", "revert"):
        return MutationRequest(verb, ActionKind.ROLLBACK)
    if verb in ("retrain", "re-train"):
        return MutationRequest(verb, ActionKind.RETRAIN)
    if verb in ("move", "migrate"):
        return MutationRequest(verb, ActionKind.MOVE)
    if verb.startswith("scale") or verb in ("stop", "shut down", "shutdown", "turn off"):
        return MutationRequest(verb, ActionKind.SCALE)
    return MutationRequest(verb, None)


_QUESTION = re.compile(
    r"^(is|are|was|were|should|shall|may|might|does|do|did|has|have|why|when|who|which|what|"
    r"how|would|will it|is it)\b"
)
_REQUEST = re.compile(r"^(can|could|would|will) you\b|\bplease\b|\bpls\b|\bgo ahead\b")


def is_question(query: Query) -> bool:
    """Whether a sentence naming a change asks about it ("is X safe to roll back?")."""
    text = query.text.strip()
    return _QUESTION.match(text) is not None and _REQUEST.search(text) is None


_GERUNDS = {
    "scaling": ActionKind.SCALE,
    "rolling back": ActionKind.ROLLBACK,
    "promoting": ActionKind.SET_ALIAS,
    "retraining": ActionKind.RETRAIN,
}


_IF_WE = {
    r"roll(ed)? back|rolls back": ActionKind.ROLLBACK,
    r"promot(e|ed|es)": ActionKind.SET_ALIAS,
    r"scal(e|ed|es)": ActionKind.SCALE,
    r"retrain(ed|s)?": ActionKind.RETRAIN,
}
"""A change asked about hypothetically ("what would happen if we rolled back X?")."""


def detect_gerund(query: Query) -> MutationRequest | None:
    """A change a question asks about ("would scaling X to zero need an approval?").

    Also for a name the fleet does not have: the question is then answered as unknown.
    """
    if not query.models and not query.unknown:
        return None
    for word, kind in _GERUNDS.items():
        if re.search(rf"\b{word}\b", query.text):
            return MutationRequest(verb=word, kind=kind)
    for pattern, kind in _IF_WE.items():
        found = re.search(rf"\bif (we|i|you|someone|they) ({pattern})\b", query.text)
        if found:
            return MutationRequest(verb=found.group(2), kind=kind)
    return None


def what_if(view: FleetView, query: Query, request: MutationRequest) -> Reply:
    """Answer a question about a change with the gate's verdict; propose nothing."""
    if request.kind is None or not query.models:
        return Reply(
            text="Name the model and the change (e.g. 'is fraud-0004 safe to roll back "
            "without a human?'); nothing was proposed or executed.",
            entities=list(query.models),
            facts={"what_if": True, "gate": [], "executed": False},
        )
    actions, notes = [], []
    for model in query.models[:10]:
        action, note = _proposal(view, query, request.kind, model)
        if action is None:
            notes.append(note)
        else:
            actions.append(action)
    gate = review(view.ctx, actions)
    for action, verdict in zip(actions, gate, strict=True):
        human = {
            "allow": "yes: the compliance gate allows it without a human approval",
            "needs_approval": "no: it needs a human approval (four eyes)",
            "deny": "no: the compliance gate denies it",
        }.get(verdict.verdict, f"unknown: the gate is {verdict.verdict}")
        notes.append(f"{action.detail}: {human} ({'; '.join(verdict.reasons)}).")
    return Reply(
        text="\n".join(notes) + "\nThis is a review only: nothing was proposed or executed.",
        entities=list(query.models),
        facts={"what_if": True, "gate": as_json(gate), "executed": False},
        lookups=[lookup("review_action", model=m) for m in query.models[:10]],
    )


def injection_suspected(text: str) -> bool:
    """Whether text tries to talk the assistant out of its rules."""
    return _INJECTION.search(text.lower()) is not None


def propose(view: FleetView, query: Query, request: MutationRequest) -> Reply:
    """Answer a change request with proposals (or a refusal), executing nothing."""
    if request.kind is None:
        text = (
            f"'{request.verb}' is not an action I can propose. The closed set is: "
            "promote (set an alias), roll back, retrain, scale, resize, move, submit a job."
        )
        reply = Reply(text=f"{text}\n{GATE_NOTE}", entities=list(query.models))
    elif not query.models and query.unknown:
        unknown = unknown_or_which(view, query)
        reply = Reply(text=f"{unknown.text}\n{GATE_NOTE}", entities=unknown.entities)
    elif not query.models:
        reply = Reply(
            text="I only propose changes for named models (e.g. 'roll back pd-0008'); "
            f"bulk changes to a namespace or environment are not proposed from chat.\n{GATE_NOTE}",
            entities=[*query.namespaces, *(e.value for e in query.envs)],
        )
    else:
        proposals, notes = [], []
        for model in query.models[:10]:
            action, note = _proposal(view, query, request.kind, model)
            if action is not None:
                proposals.append(action)
            notes.append(note)
        reply = Reply(
            text="\n".join(notes) + f"\n{GATE_NOTE}",
            entities=list(query.models),
            proposals=proposals,
            lookups=[lookup("get_model", name=m) for m in query.models[:10]],
        )
    gate = review(view.ctx, reply.proposals)
    if gate:
        reply.text += "\n" + describe(gate)
    reply.facts = {
        "gate": as_json(gate),
        "requested": request.verb,
        "action": request.kind.value if request.kind else None,
        "executed": False,
        "proposals": as_json(reply.proposals),
        "injection_suspected": injection_suspected(query.text),
    }
    if reply.facts["injection_suspected"]:
        reply.text = (
            "The request contains instructions to bypass the rules; they are treated as data "
            "and change nothing.\n" + reply.text
        )
    return reply


def _proposal(
    view: FleetView, query: Query, kind: ActionKind, model: str
) -> tuple[ProposedAction | None, str]:
    user = view.ctx.user
    m = view.models[model]
    if kind is ActionKind.SET_ALIAS:
        alias = (
            CHALLENGER
            if re.search(r"\bchallenger\b", query.text) and "set" in query.text
            else CHAMPION
        )
        version = query.version or (m.aliases.get(CHALLENGER) if alias == CHAMPION else None)
        known = {v.version for v in view.ctx.registry.list_versions(model)}
        if version is None or version not in known:
            return None, (
                f"{model}: no version to promote (name one that exists: "
                f"{', '.join(f'v{v}' for v in sorted(known))})."
            )
        detail = f"point {model}@{alias} at v{version} (was v{m.aliases.get(alias, '-')})"
        return ProposedAction(
            kind=kind, proposer=user, model=model, version=version, alias=alias, detail=detail
        ), f"Proposed, not executed: {detail}."
    if kind is ActionKind.ROLLBACK:
        target = rollback_target(view.ctx.registry, model, m.aliases.get(CHAMPION))
        if target is None:
            return None, f"{model}: there is no earlier champion to roll back to."
        detail = f"roll {model}@champion back {target.describe()}"
        return ProposedAction(
            kind=kind,
            proposer=user,
            model=model,
            version=target.version,
            alias=CHAMPION,
            detail=detail,
        ), f"Proposed, not executed: {detail}."
    deployments = [d for d in view.deployments if d.model == model]
    if kind is ActionKind.SCALE:
        if not deployments:
            return None, f"{model} is not deployed; there is nothing to scale."
        count = _REPLICAS.search(query.text)
        replicas = int(count.group(1)) if count else (0 if _TO_ZERO.search(query.text) else None)
        if replicas is None:
            return None, f"{model}: to how many replicas? (e.g. 'scale {model} to 2')"
        d = deployments[0]
        detail = f"scale {d.namespace}/{d.name} from {d.replicas} to {replicas} replica(s)"
        return ProposedAction(
            kind=kind,
            proposer=user,
            model=model,
            namespace=d.namespace,
            deployment=d.name,
            replicas=replicas,
            detail=detail,
        ), f"Proposed, not executed: {detail}."
    namespace = deployments[0].namespace if deployments else None
    detail = f"{kind.value} {model}" + (f" (deployed in {namespace})" if namespace else "")
    return ProposedAction(
        kind=kind, proposer=user, model=model, namespace=namespace, detail=detail
    ), f"Proposed, not executed: {detail}."
