"""One adapter per agent: run it on a trial's world at a tier, return an `AgentRun`."""

import importlib

from evals.adapters.base import Adapter, AgentRun, AgentTask, tier_settings
from tools.errors import ConfigError

MODULES = {
    "monitor": "evals.adapters.monitor",
    "retrainer": "evals.adapters.retrainer",
    "compliance": "evals.adapters.compliance",
    "capacity": "evals.adapters.capacity",
    "assistant": "evals.adapters.assistant",
}


def adapter(agent: str) -> Adapter:
    """The adapter of an agent (imported on first use).

    Raises:
        ConfigError: the agent's package is not available in this checkout.
    """
    try:
        module = importlib.import_module(MODULES[agent])
    except ImportError as exc:
        raise ConfigError(f"agent {agent!r} cannot run here: {exc}") from None
    run: Adapter = module.run
    return run


__all__ = ["Adapter", "AgentRun", "AgentTask", "adapter", "tier_settings"]
