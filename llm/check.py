"""`lotsen llm check`: does this endpoint really do chat, tool calls and json_schema?

A common vLLM misconfiguration is a server started without `--enable-auto-tool-choice
--tool-call-parser ...`, or with a parser that does not match the model family, so tool
calls come back as text. Each probe says exactly what is wrong and which flag fixes it.
"""

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from llm.redact import redact, tier_secrets
from llm.tiers import Capability, LlmTier
from llm.vllm_launch import parser_hint
from prompts import render_prompt

TOOL = {
    "type": "function",
    "function": {
        "name": "report_status",
        "description": "Report the status of the probe.",
        "parameters": {
            "type": "object",
            "properties": {"status": {"type": "string", "enum": ["green", "red"]}},
            "required": ["status"],
        },
    },
}


class ProbeStatus(StrEnum):
    """The probe's colour."""

    GREEN = "green"
    RED = "red"


class ProbeAnswer(BaseModel):
    """The json_schema probe's expected shape."""

    status: ProbeStatus
    confidence: float


class CheckItem(BaseModel):
    """One probed capability."""

    capability: str
    ok: bool
    required: bool = True
    """The tier declares this capability, so a failure fails the check."""
    detail: str
    fix: str = ""


class CheckReport(BaseModel):
    """Everything `llm check` found for one endpoint."""

    tier: str
    base_url: str
    model: str
    items: list[CheckItem]

    @property
    def ok(self) -> bool:
        """True when every required capability works."""
        return all(item.ok or not item.required for item in self.items)


def check_tier(tier: LlmTier) -> CheckReport:
    """Probe one endpoint with the real OpenAI client."""
    from openai import OpenAI

    key = tier.api_key.get_secret_value() if tier.api_key else "not-needed"
    client = OpenAI(base_url=tier.base_url, api_key=key, timeout=tier.timeout_s, max_retries=0)
    report = CheckReport(tier=tier.name, base_url=tier.base_url, model=tier.model, items=[])
    served = _probe_models(client, tier, report)
    if served:
        report.items.append(_probe_chat(client, tier))
        report.items.append(_required(_probe_tools(client, tier), tier, Capability.TOOLS))
        report.items.append(_required(_probe_json(client, tier), tier, Capability.JSON_SCHEMA))
    secrets = tier_secrets(tier)  # a server's error may echo the key it was sent
    report.items = [
        item.model_copy(update={"detail": redact(item.detail, secrets)}) for item in report.items
    ]
    return report


def _required(item: CheckItem, tier: LlmTier, capability: Capability) -> CheckItem:
    return item.model_copy(update={"required": capability in tier.capabilities})


def _probe_models(client: Any, tier: LlmTier, report: CheckReport) -> bool:
    import openai

    try:
        ids = [m.id for m in client.models.list()]
    except openai.APIConnectionError as exc:
        report.items.append(
            CheckItem(
                capability="server",
                ok=False,
                detail=f"cannot reach {tier.base_url}: {exc.__cause__ or exc}",
                fix="start the server (`lotsen llm serve MODEL`) or fix base_url",
            )
        )
        return False
    except openai.APIStatusError as exc:
        report.items.append(
            CheckItem(
                capability="server",
                ok=False,
                detail=f"/models answered {exc.status_code}: {_message(exc)}",
                fix="check base_url (it should end in /v1) and the api key",
            )
        )
        return False
    if tier.model not in ids:
        report.items.append(
            CheckItem(
                capability="model",
                ok=False,
                detail=f"the server serves {ids}, not {tier.model!r}",
                fix="set the tier's model to a served name (vLLM: --served-model-name)",
            )
        )
        return False
    report.items.append(CheckItem(capability="model", ok=True, detail=f"{tier.model} is served"))
    return True


def _probe_chat(client: Any, tier: LlmTier) -> CheckItem:
    import openai

    try:
        reply = client.chat.completions.create(
            model=tier.model,
            max_tokens=16,
            messages=[
                {"role": "system", "content": render_prompt("llm_check").text},
                {"role": "user", "content": "Reply with the single word: pong"},
            ],
        )
    except openai.APIError as exc:
        return CheckItem(capability=Capability.CHAT, ok=False, detail=_message(exc))
    text = (reply.choices[0].message.content or "").strip()
    return CheckItem(capability=Capability.CHAT, ok=bool(text), detail=f"replied {text[:40]!r}")


def _probe_tools(client: Any, tier: LlmTier) -> CheckItem:
    import openai

    flags = f"--enable-auto-tool-choice --tool-call-parser {parser_hint(tier.model)}"
    try:
        reply = client.chat.completions.create(
            model=tier.model,
            tools=[TOOL],
            tool_choice="auto",
            max_tokens=128,
            messages=[
                {"role": "user", "content": "Call the report_status tool with status green."}
            ],
        )
    except openai.BadRequestError as exc:
        if "enable-auto-tool-choice" in _message(exc):
            return CheckItem(
                capability=Capability.TOOLS,
                ok=False,
                detail="the server refuses tool calls: it was started without "
                "--enable-auto-tool-choice / --tool-call-parser",
                fix=f"restart vLLM with {flags} (`lotsen llm serve` sets both)",
            )
        return CheckItem(capability=Capability.TOOLS, ok=False, detail=_message(exc))
    except openai.APIError as exc:
        return CheckItem(capability=Capability.TOOLS, ok=False, detail=_message(exc))
    message = reply.choices[0].message
    if message.tool_calls:
        call = message.tool_calls[0].function
        try:
            json.loads(call.arguments)
        except json.JSONDecodeError:
            return CheckItem(
                capability=Capability.TOOLS,
                ok=False,
                detail=f"tool call arguments are not JSON: {call.arguments[:80]!r}",
            )
        return CheckItem(
            capability=Capability.TOOLS, ok=True, detail=f"called {call.name}({call.arguments})"
        )
    text = message.content or ""
    if "tool_call" in text or '"name"' in text:
        return CheckItem(
            capability=Capability.TOOLS,
            ok=False,
            detail="the tool call came back as text: the tool-call parser does not match the model",
            fix=f"restart vLLM with {flags}",
        )
    return CheckItem(
        capability=Capability.TOOLS,
        ok=False,
        detail=f"the model answered without calling the tool: {text[:60]!r}",
        fix="use a model trained for tool calling, or a chat template with tools",
    )


def _probe_json(client: Any, tier: LlmTier) -> CheckItem:
    import openai

    schema = ProbeAnswer.model_json_schema()
    try:
        reply = client.chat.completions.create(
            model=tier.model,
            max_tokens=128,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "ProbeAnswer", "schema": schema, "strict": True},
            },
            messages=[{"role": "user", "content": "Report status green with your confidence."}],
        )
    except openai.APIError as exc:
        return CheckItem(capability=Capability.JSON_SCHEMA, ok=False, detail=_message(exc))
    text = reply.choices[0].message.content or ""
    try:
        ProbeAnswer.model_validate_json(text)
    except ValidationError:
        return CheckItem(
            capability=Capability.JSON_SCHEMA,
            ok=False,
            detail=f"response_format json_schema was not honoured: {text[:60]!r}",
            fix="use a vLLM with structured outputs (response_format json_schema; "
            "the old guided_json field is ignored)",
        )
    return CheckItem(capability=Capability.JSON_SCHEMA, ok=True, detail=f"valid JSON: {text[:60]}")


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and "message" in inner:
            return str(inner["message"])
        if "message" in body:
            return str(body["message"])
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
