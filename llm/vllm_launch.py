"""Building the right `vllm serve` command for a model family."""

from pydantic import BaseModel, Field

from tools.errors import ConfigError

# (substring of the lower-cased model id, vLLM --tool-call-parser), first match wins.
TOOL_PARSERS: tuple[tuple[str, str], ...] = (
    ("qwen3", "hermes"),
    ("qwen2.5", "hermes"),
    ("qwq", "hermes"),
    ("hermes", "hermes"),
    ("llama-4", "llama4_pythonic"),
    ("llama-3", "llama3_json"),
    ("llama3", "llama3_json"),
    ("mistral", "mistral"),
    ("mixtral", "mistral"),
    ("granite", "granite"),
    ("deepseek-v3", "deepseek_v3"),
    ("phi-4-mini", "phi4_mini_json"),
    ("gpt-oss", "openai"),
)
CHAT_TEMPLATE_NOTES = {
    "llama3_json": "Llama 3.x tool calling works best with vLLM's "
    "examples/tool_chat_template_llama3.1_json.jinja (--chat-template)",
}


def tool_parser(model: str) -> str:
    """The vLLM tool-call parser for a model id.

    Raises:
        ConfigError: the family is not known; pass --tool-call-parser explicitly.
    """
    lowered = model.lower()
    for marker, parser in TOOL_PARSERS:
        if marker in lowered:
            return parser
    families = ", ".join(sorted({m for m, _ in TOOL_PARSERS}))
    raise ConfigError(
        f"unknown model family for {model!r} (known: {families}); "
        "pass --tool-call-parser explicitly"
    )


def parser_hint(model: str) -> str:
    """The parser for a model, or a placeholder naming the common choices."""
    try:
        return tool_parser(model)
    except ConfigError:
        return "<hermes for Qwen2.5/Qwen3 | llama3_json for Llama 3.x>"


class VllmLaunch(BaseModel):
    """Everything `vllm serve` needs for a Lotsen tier."""

    model: str
    served_name: str | None = None
    host: str = "0.0.0.0"
    port: int = Field(default=8000, gt=0, lt=65536)
    max_model_len: int = Field(default=16384, gt=0)
    gpu_memory_utilization: float = Field(default=0.90, gt=0, le=1)
    tool_call_parser: str | None = None
    """None = derived from the model family."""
    prefix_caching: bool = True
    tensor_parallel_size: int = Field(default=1, gt=0)

    def command(self, vllm: str = "vllm") -> list[str]:
        """The argv of `vllm serve`."""
        parser = self.tool_call_parser or tool_parser(self.model)
        argv = [
            vllm,
            "serve",
            self.model,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--served-model-name",
            self.served_name or self.model,
            "--enable-auto-tool-choice",
            "--tool-call-parser",
            parser,
            "--max-model-len",
            str(self.max_model_len),
            "--gpu-memory-utilization",
            str(self.gpu_memory_utilization),
        ]
        if self.prefix_caching:
            argv.append("--enable-prefix-caching")
        if self.tensor_parallel_size > 1:
            argv += ["--tensor-parallel-size", str(self.tensor_parallel_size)]
        return argv

    def notes(self) -> list[str]:
        """Caveats for this family."""
        parser = self.tool_call_parser or tool_parser(self.model)
        return [CHAT_TEMPLATE_NOTES[parser]] if parser in CHAT_TEMPLATE_NOTES else []
