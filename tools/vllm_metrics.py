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


def parse_vllm_metrics(text: str) -> VllmMetrics:
    """Parse Prometheus exposition text from vLLM's /metrics."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + sample.value
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
            text = response.read().decode()
    except OSError as exc:
        raise BackendUnavailableError(f"cannot read vLLM metrics at {metrics_url}: {exc}") from exc
    return parse_vllm_metrics(text)
