"""Prometheus metrics of Lotsen itself.

Process-wide instruments that any part of the process may feed (the operating loop calls
`observe_scan`), plus a collector that reads the world's state at scrape time (approvals
pending, incidents open, actions, LLM usage). `render(world_collector)` is `/metrics`.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)
"""Lotsen's own registry (not the client's global one: no process/platform noise)."""

HTTP_LATENCY = Histogram(
    "lotsen_http_request_duration_seconds",
    "HTTP request latency by route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
SCAN_DURATION = Histogram(
    "lotsen_scan_duration_seconds",
    "Fleet scan duration.",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
MODELS_SCANNED = Counter(
    "lotsen_models_scanned", "Models scanned by fleet scans.", registry=REGISTRY
)
SCANS = Counter("lotsen_scans", "Fleet scans run.", registry=REGISTRY)
CHAT_ANSWERS = Counter(
    "lotsen_chat_answers",
    "Chat answers given by the service, per tier.",
    ["tier"],
    registry=REGISTRY,
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Record one HTTP request (the service middleware calls this)."""
    HTTP_LATENCY.labels(method, route, str(status)).observe(seconds)


def observe_scan(seconds: float, models: int) -> None:
    """Record one fleet scan: how long it took and how many models it covered."""
    SCANS.inc()
    SCAN_DURATION.observe(seconds)
    MODELS_SCANNED.inc(models)


def render(*collectors: Collector) -> bytes:
    """The exposition text of Lotsen's instruments plus `collectors` (read at scrape time)."""
    text = generate_latest(REGISTRY)
    if collectors:
        scrape = CollectorRegistry(auto_describe=False)
        for collector in collectors:
            scrape.register(collector)
        text += generate_latest(scrape)
    return text
