"""The tier-0 grammar: an ordered registry of intents, and the deterministic answer.

Order matters: change requests first (they are answered with proposals only), then the
intents of other agents (`AssistantContext.extra_intents`), then the built-in ones from
the most specific to the most general. No LLM is involved.
"""

from agents.assistant import cluster_intents, mutations, ops_intents, registry_intents
from agents.assistant.briefing_intents import BRIEFING_INTENTS
from agents.assistant.capacity_intents import CAPACITY_INTENTS
from agents.assistant.compliance_intents import COMPLIANCE_INTENTS
from agents.assistant.context import FleetView
from agents.assistant.decision_intents import DECISION_INTENTS
from agents.assistant.drift_intents import DRIFT_INTENTS
from agents.assistant.fleet_intents import FLEET_INTENTS
from agents.assistant.handoff_intents import HANDOFF_INTENTS
from agents.assistant.howto_intents import HOWTO
from agents.assistant.intent import Intent, Reply, keyword_intent, unknown_or_which
from agents.assistant.lifecycle_intents import LIFECYCLE_INTENTS
from agents.assistant.query import Query
from agents.assistant.ranking_intents import RANKING_INTENTS
from agents.assistant.remediation_intents import REMEDIATION_INTENTS
from agents.assistant.tag_intents import TAG_INTENTS

BUILTIN_INTENTS: tuple[Intent, ...] = (
    keyword_intent(
        "alias_history",
        "Show the alias history of pd-0008",
        r"alias(es)? history|history of|who (promoted|moved|rolled|changed|set)|"
        r"alias (moves|changes)|promotion history|when was .* (promoted|rolled back)",
        registry_intents.alias_history,
    ),
    Intent(
        "versions",
        "What are the champion and challenger of pd-0008 and their metrics?",
        lambda q: (
            q.has(
                r"champion|challenger|which version|what version|current version|versions?\b|"
                r"metrics?|\bauc\b|\brmse\b|accuracy"
            )
            and not (not q.models and q.has(r"\bmodels\b"))  # "which models have a challenger?"
        ),
        registry_intents.versions,
    ),
    keyword_intent(
        "owner",
        "Who owns churn-0000?",
        r"who owns|\bowner\b|\bowns\b|(which|what) team|\bwhose\b|responsible|accountable|"
        r"\bcontact\b|on[- ]call|who (do|should) i (ask|call|talk to)",
        registry_intents.owner,
    ),
    Intent(
        "pipeline_models",
        "Which models does pipeline growth-features-00 feed, and how many?",
        lambda q: bool(q.pipelines) or q.has(r"\bpipelines?\b"),
        registry_intents.pipeline,
    ),
    keyword_intent(
        "high_risk",
        "Which models of the risk team are high-risk under the EU AI Act?",
        r"high[- ]?risk|ai act|risk class",
        registry_intents.high_risk,
    ),
    keyword_intent(
        "quota",
        "What is the GPU quota and use of namespace risk-prod?",
        r"\bquotas?\b",
        cluster_intents.quota,
    ),
    Intent(
        "model_gpu",
        "Which GPU and MIG profile does fraud-0004 run on, and how many replicas?",
        lambda q: (
            bool(q.models) and q.has(r"\bgpus?\b|\bmig\b|replicas|run(s|ning)? on|\bnodes?\b")
        ),
        cluster_intents.serving,
    ),
    Intent(
        "gpu",
        "How much free GPU capacity is there in test?",
        lambda q: (
            bool(q.pools)
            or q.has(
                r"\bgpus?\b|capacity|allocat|utili[sz]|headroom|\bfree\b|\bpools?\b|"
                r"\b(h100|a100|l4)s?\b|room for|\bfit (another|one more|a new)|"
                r"how (busy|full|loaded)"
            )
        ),
        cluster_intents.gpu,
    ),
    keyword_intent(
        "idle",
        "Which deployments have had no traffic for 14 days?",
        r"\bidle\b|no traffic|without traffic|no requests|unused|not (been )?used|"
        r"scale[- ]to[- ]zero|zero traffic|inactive",
        cluster_intents.idle,
    ),
    keyword_intent(
        "approvals",
        "Which approvals are pending?",
        r"approv|pending|waiting for",
        ops_intents.approvals,
    ),
    Intent(
        "serving",
        "Which models serve in namespace risk-prod?",
        lambda q: (
            bool(q.namespaces)
            or (
                q.has(
                    r"serv(e|es|ed|ing)\b|deploy|runs? in|running|what runs|where (is|does|are)|"
                    r"replicas|latency|traffic"
                )
                and not (q.teams and q.has(r"\bmodels\b"))
                and not q.has(
                    r"models? (\w+ )?(without|with no|have no|has no|not|never) (a |any |been )?"
                    r"deploy"
                )
            )
        ),
        cluster_intents.serving,
    ),
    Intent(
        "list_models",
        "How many models does the fraud team own in prod?",
        lambda q: q.has(r"\bmodels\b") and not q.models,
        registry_intents.list_models,
    ),
    Intent(
        "model_info",
        "Tell me about fraud-0004",
        lambda q: bool(q.models),
        registry_intents.model_info,
    ),
)

AGENT_INTENTS: tuple[Intent, ...] = (
    *HANDOFF_INTENTS,
    *TAG_INTENTS,
    *LIFECYCLE_INTENTS,
    *BRIEFING_INTENTS,
    *DECISION_INTENTS,
    *RANKING_INTENTS,
    *REMEDIATION_INTENTS,
    *DRIFT_INTENTS[:1],  # incidents: an incident id or "incident" wins over "what happened"
    *FLEET_INTENTS,
    *DRIFT_INTENTS[1:],
    *COMPLIANCE_INTENTS,
    *CAPACITY_INTENTS,
)
"""Intents over operations (jobs, nodes, changes, drift, incidents) and the other agents
(compliance reviewer, capacity planner), tried before the registry/cluster lookups."""

_HELP = r"^(help|\?)$|what can (you|i) (do|ask)|what do you (know|answer)|^examples?\b"
_OFF_TOPIC = (
    r"^(please |can you |could you )?(translate|compose|sing|"
    r"(write|tell) (me )?(a|an|some) (poem|song|story|haiku|limerick|joke|essay|rap|sonnet)s?)\b"
)
"""Requests that are not about the fleet even when they name an ops word ("translate 'model
drift' to german", "write a poem about drift"): not understood, rather than a drift report."""
CHANGE_EXAMPLES = ("Roll back fraud-0004 (answered with a proposal, never executed)",)


def help_reply(intents: tuple[Intent, ...], understood: bool) -> Reply:
    """What the assistant can answer, with an example question each."""
    examples = [f"- {i.example}" for i in intents] + [f"- {e}" for e in CHANGE_EXAMPLES]
    lead = (
        "Here is what I can answer"
        if understood
        else "I did not understand the question. I can answer questions like these"
    )
    return Reply(
        text=f"{lead}:\n" + "\n".join(examples),
        facts={"understood": understood, "intents": [i.name for i in intents]},
    )


def _before_intents(
    view: FleetView, intents: tuple[Intent, ...], query: Query
) -> tuple[str, Reply] | None:
    """Help when asked for it or for a request not about the fleet; how to use Lotsen."""
    if query.has(_HELP):
        return "help", help_reply(intents, understood=True)
    if query.has(_OFF_TOPIC):
        return "unrecognised", help_reply(intents, understood=False)
    if HOWTO.matches(query):
        return "howto", HOWTO.handle(view, query)
    return None


def answer_tier0(view: FleetView, query: Query) -> tuple[str, Reply]:
    """(intent name, reply) for a parsed question, deterministically."""
    intents = (*view.ctx.extra_intents, *AGENT_INTENTS, *BUILTIN_INTENTS)
    early = _before_intents(view, intents, query)
    if early is not None:
        return early
    change = mutations.detect(query)
    if change is None and mutations.is_question(query):
        change = mutations.detect_gerund(query)
    if change is not None and mutations.is_question(query):
        if query.unknown and not query.models:  # not "name the model": say it is unknown
            return "unknown_model", unknown_or_which(view, query)
        return "what_if", mutations.what_if(view, query, change)
    if change is not None:
        return "change_request", mutations.propose(view, query, change)
    for intent in intents:
        if intent.matches(query):
            reply = intent.handle(view, query)
            if "unknown" in reply.facts:
                reply.facts["asked_intent"] = intent.name
                return "unknown_model", reply
            return intent.name, reply
    if query.unknown:
        return "unknown_model", unknown_or_which(view, query)
    return "unrecognised", help_reply(intents, understood=False)
