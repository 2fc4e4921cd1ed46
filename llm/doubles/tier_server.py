"""The scripted tiers of `tier_profiles.yaml` served by `ScriptedOpenAIServer`s.

Each simulated call is replayed through a real OpenAI-compatible request (langchain-openai
client, `llm.call.invoke`), its prompt and reply padded to the profile's token counts, so
the usage ledger records tokens and cost exactly as it would for a vLLM tier.
"""

from types import TracebackType
from typing import TYPE_CHECKING

from llm.doubles.openai_server import Reply, ScriptedOpenAIServer, ServerProfile
from llm.doubles.tier_profiles import SimulatedCall, TierProfiles
from llm.tiers import LlmTier
from llm.usage import UsageLedger
from tools.errors import BackendUnavailableError

if TYPE_CHECKING:
    from llm.call import LlmContext

_CHARS_PER_TOKEN = 4


class ScriptedTiers:
    """`with ScriptedTiers(profiles, ledger) as tiers: tiers.replay(call, ...)`."""

    def __init__(self, profiles: TierProfiles, ledger: UsageLedger) -> None:
        """One scripted server per profiled tier (started on enter)."""
        self.profiles = profiles
        self.ledger = ledger
        self.servers = {
            t.name: ScriptedOpenAIServer(profile=ServerProfile(models=[t.model], auto=False))
            for t in profiles.tiers
        }
        self._llms: dict[str, LlmContext] = {}

    def __enter__(self) -> "ScriptedTiers":
        from llm.call import LlmContext
        from llm.chat import chat_model

        for profile in self.profiles.tiers:
            server = self.servers[profile.name].__enter__()
            tier = LlmTier(
                name=profile.name,
                base_url=server.base_url,
                model=profile.model,
                cost_per_1k_input=profile.cost_per_1k_input,
                cost_per_1k_output=profile.cost_per_1k_output,
            )
            self._llms[profile.name] = LlmContext(
                tier=tier, model=chat_model(tier), ledger=self.ledger
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in self.servers.values():
            server.__exit__(kind, exc, tb)

    def tiers(self) -> list[LlmTier]:
        """The served tiers (base URLs of the running servers)."""
        return [llm.tier for llm in self._llms.values()]

    def replay(self, call: SimulatedCall, *, agent: str, task: str, route: str) -> SimulatedCall:
        """Send `call` through its tier's server; tokens and cost as the ledger recorded them."""
        from dataclasses import replace

        from langchain_core.messages import HumanMessage

        from llm.call import CallFailed, invoke
        from prompts import RenderedPrompt

        llm = replace(self._llms[call.tier], route=route)
        server = self.servers[call.tier]
        server.script.append(Reply(content="y" * (call.output_tokens * _CHARS_PER_TOKEN)))
        padding = "x" * max(call.input_tokens * _CHARS_PER_TOKEN - 40, 1)
        prompt = RenderedPrompt(name="router_bench_replay", text="", sha256="0" * 64)
        before = len(self.ledger.records)
        reply = invoke(
            llm, llm.model, [HumanMessage(padding)], agent=agent, task=task, prompt=prompt
        )
        if isinstance(reply, CallFailed):
            raise BackendUnavailableError(f"scripted tier {call.tier} failed: {reply.reason}")
        record = self.ledger.records[before]
        return call.model_copy(
            update={
                "input_tokens": record.input_tokens,
                "output_tokens": record.output_tokens,
                "cost": record.cost,
            }
        )
