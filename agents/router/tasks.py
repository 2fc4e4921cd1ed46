"""Task classes: the unit of agent work the router measures and routes.

A class is `agent/work`, and for the assistant `assistant/answer:<intent family>`. Classes
with a verifier can be cascaded (try cheap, verify, escalate); the verifier says what is
checked.
"""

import re
from typing import Literal

Verifier = Literal["schema", "policy_gate", "entities", "understood"]

AGENT_CLASSES: dict[str, str] = {
    "monitor": "monitor/diagnose",
    "retrainer": "retrainer/decide",
    "compliance": "compliance/explain",
    "capacity": "capacity/plan",
}
"""The task class of each agent's work (the assistant's depends on the question)."""

GATE_CLASS = "compliance/gate"
"""A proposed change reviewed by the compliance gate."""

FAMILIES: tuple[tuple[str, str], ...] = (
    ("drift", r"\bdrift|\bshift|distribution"),
    ("incidents", r"\bincident|\bbroke|\bbreak|\bwrong with|\bdiagnos|\bwhy did"),
    ("changes", r"\bchanged?\b|\brolled? ?back|\brollback|\bpromot|\bhistory|\blast \d+ ?h"),
    ("jobs", r"\bjobs?\b|\bqueue|\bretrain"),
    ("nodes", r"\bnodes?\b|\bgpus?\b|\bidle\b|\bmig\b|\breserved"),
    ("policy", r"\bpolic|\bseg-\d|\baia-\d|\bcomplian|\ballowed|\bai act|\bhigh-risk"),
    ("approvals", r"\bapprov|\bapr-|\bwaiting|\bfour-eyes"),
    ("cost", r"\bcost|\beur\b|\bspend|\bcarbon|\bco2|\bgreen|\benergy|\bkwh"),
    ("capacity", r"\bcapacity|\bquota|\bpack|\bscale"),
    ("registry", r"\bowns?\b|\bowner|\bversion|\balias|\bchampion|\bmodels?\b|\bpipeline"),
)
"""Intent families of chat questions, first match wins (keyword level; no world needed)."""

VERIFIERS: dict[str, Verifier] = {
    "monitor/diagnose": "schema",
    "retrainer/decide": "policy_gate",
    "compliance/explain": "entities",
    GATE_CLASS: "policy_gate",
    "capacity/plan": "schema",
}
"""Cascadable classes and their verifier; every assistant class has `understood`."""

_COMPILED = tuple((name, re.compile(pattern)) for name, pattern in FAMILIES)


def task_class_for_question(text: str) -> str:
    """The assistant task class of a chat question (`assistant/answer:other` if none)."""
    lowered = text.lower()
    for name, pattern in _COMPILED:
        if pattern.search(lowered):
            return f"assistant/answer:{name}"
    return "assistant/answer:other"


def task_class_of(agent: str, ask: str | None = None, gate: bool = False) -> str:
    """The task class of one unit of `agent`'s work (`ask`: a chat question)."""
    if agent == "assistant":
        return task_class_for_question(ask or "")
    if agent == "compliance" and gate:
        return GATE_CLASS
    return AGENT_CLASSES.get(agent, f"{agent}/run")


def verifier_of(task_class: str) -> Verifier | None:
    """The verifier a cascade on `task_class` can use (None: no cascade)."""
    if task_class.startswith("assistant/"):
        return "understood"
    return VERIFIERS.get(task_class)


def all_classes() -> list[str]:
    """Every known task class (the assistant's families included)."""
    families = [f"assistant/answer:{name}" for name, _ in FAMILIES]
    return [*AGENT_CLASSES.values(), GATE_CLASS, *families, "assistant/answer:other"]
