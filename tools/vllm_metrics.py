"""Reading vLLM's Prometheus metrics (for the capacity planner).

Names differ between vLLM's engines: v1 exports `vllm:kv_cache_usage_perc` and prefix-cache
hit/query counters; v0 exported `vllm:gpu_cache_usage_perc` and a hit-rate gauge. Both are read.
"""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from tools.errors import BackendUnavailableError


class VllmMetrics(BaseModel):
    """A snapshot of one vLLM server (summed over the models it serves)."""

    requests_running: float
    requests_waiting: float
    kv_cache_usage: float | None
    """Fraction 0..1 of the KV cache in use."""
    prefix_cache_hit_rate: float | None
    """Fraction 0..1 of prefix-cache queries that hit."""
    prompt_tokens_total: float | None
    generation_tokens_total: float | None


def parse_vllm_metrics(text: str | bytes, source: str = "metrics") -> VllmMetrics:
    """Parse Prometheus exposition text from vLLM's /metrics.

    Args:
        text: The exposition text, or its raw bytes (must be UTF-8).
        source: Where it came from, for the error message.

    Raises:
        BackendUnavailableError: not UTF-8 text, or not Prometheus exposition text.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BackendUnavailableError(
                f"{source} is not UTF-8 text (byte {exc.start}): not a vLLM /metrics endpoint?"
            ) from None
    values: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                values[sample.name] = values.get(sample.name, 0.0) + sample.value
    except ValueError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackendUnavailableError(
            f"{source} is not Prometheus metrics text: {reason[:120]}"
        ) from None
    hits = values.get("vllm:prefix_cache_hits_total")
    queries = values.get("vllm:prefix_cache_queries_total")
    if hits is not None and queries:
        hit_rate: float | None = hits / queries
    else:
        hit_rate = values.get("vllm:gpu_prefix_cache_hit_rate")
    return VllmMetrics(
        requests_running=values.get("vllm:num_requests_running", 0.0),
        requests_waiting=values.get("vllm:num_requests_waiting", 0.0),
        kv_cache_usage=values.get(
            "vllm:kv_cache_usage_perc", values.get("vllm:gpu_cache_usage_perc")
        ),
        prefix_cache_hit_rate=hit_rate,
        prompt_tokens_total=values.get("vllm:prompt_tokens_total"),
        generation_tokens_total=values.get("vllm:generation_tokens_total"),
    )


def read_vllm_metrics(metrics_url: str, timeout_s: float = 5.0) -> VllmMetrics:
    """Fetch and parse a server's metrics, e.g. http://vllm:8000/metrics."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=timeout_s) as response:
            raw = response.read()
    except OSError as exc:
        raise BackendUnavailableError(f"cannot read vLLM metrics at {metrics_url}: {exc}") from exc
    return parse_vllm_metrics(raw, metrics_url)
