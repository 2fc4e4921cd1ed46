"""World state read at scrape time: approvals, incidents, actions, LLM usage."""

from collections.abc import Iterator

from fastapi import FastAPI
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class WorldCollector(Collector):
    """Reads the app's World under its lock when Prometheus scrapes."""

    def __init__(self, app: FastAPI) -> None:
        """Collect from `app`'s world."""
        self.app = app

    def collect(self) -> Iterator[Metric]:
        """Yield the world's gauges and counters."""
        yield from ()
