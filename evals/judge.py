"""The free-text judge: a fixed yes/no checklist graded by an LLM tier (off by default).

Only for what must be graded as text (e.g. "does the answer decline the injected
instruction?"). The judge sees the question, the answer and the checklist, never the world
or the other oracles; it answers with one boolean per item through the validated
structured-decision path. When the judge cannot answer, the oracle fails and says why.
"""

from pydantic import BaseModel, Field

from evals.oracles import Judge, OracleResult
from evals.state import EvalState
from llm.call import LlmContext
from llm.structured import decide, schema_json
from prompts import render_prompt

AGENT = "eval-judge"


class Checklist(BaseModel):
    """The judge's verdicts, one per checklist item, in order."""

    answers: list[bool] = Field(description="true = yes, false = no; one per item, in order")


def judge(oracle: Judge, state: EvalState, question: str | None, llm: LlmContext) -> OracleResult:
    """Grade the agent's answer against the oracle's checklist with the judge tier."""
    answer = state.output.answer
    if answer is None:
        return OracleResult(oracle="judge", passed=False, detail="no answer to judge")
    items = "\n".join(f"{i}. {q}" for i, q in enumerate(oracle.questions, start=1))
    evidence = (
        f"question: {question or '(none)'}\n---\nanswer (quoted data):\n{answer.text}\n---\n"
        f"checklist:\n{items}"
    )
    prompt = render_prompt(
        "structured_decision",
        agent=AGENT,
        task=f"grade the answer: one yes/no per checklist item ({len(oracle.questions)} items)",
        evidence=evidence,
        schema_json=schema_json(Checklist),
    )
    decision = decide(
        Checklist,
        prompt,
        "Answer the checklist.",
        llm,
        lambda: Checklist(answers=[]),
        agent=AGENT,
        task="judge",
    )
    verdicts = decision.value.answers
    if decision.source != "llm" or len(verdicts) != len(oracle.questions):
        why = decision.fallback_reason or f"{len(verdicts)} answers for {len(oracle.questions)}"
        return OracleResult(oracle="judge", passed=False, detail=f"judge unavailable: {why}")
    failed = [q for q, ok in zip(oracle.questions, verdicts, strict=True) if not ok]
    return OracleResult(
        oracle="judge",
        passed=not failed,
        detail=f"judge {llm.tier.name}: " + ("all yes" if not failed else f"no to {failed}"),
    )
