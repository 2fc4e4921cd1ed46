"""Chat models for configured tiers (langchain-openai `ChatOpenAI` pointed at vLLM)."""

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk

from llm.tiers import LlmTier


def chat_model(tier: LlmTier) -> BaseChatModel:
    """A chat model for a tier. Retries are ours (validation-aware), not the client's."""
    from langchain_openai import ChatOpenAI

    key = tier.api_key.get_secret_value() if tier.api_key else "not-needed"
    return ChatOpenAI(
        model=tier.model,
        base_url=tier.base_url,
        api_key=key,
        timeout=tier.timeout_s,
        max_retries=0,
        temperature=0.0,
        stream_usage=True,
    )


def token_usage(message: AIMessage | AIMessageChunk) -> tuple[int, int]:
    """(input, output) tokens reported with a reply, (0, 0) if the server sent none."""
    usage = message.usage_metadata
    if usage is None:
        return 0, 0
    return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
