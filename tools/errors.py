"""The exception tree shared by every layer.

`LotsenError` subclasses are the errors a user can cause and fix: their message says what
was wrong and what to do, and the CLI prints it as one line. Anything else is a bug.
"""


class LotsenError(Exception):
    """Base class of every error Lotsen reports to a user."""


class ConfigError(LotsenError):
    """Settings or arguments are wrong; the message names what to set."""


class NotFoundError(LotsenError):
    """A named object (model, alias, namespace, deployment, node, job) does not exist."""


class StateError(LotsenError):
    """A state file is corrupt, foreign, or from an incompatible schema version."""


class BackendUnavailableError(LotsenError):
    """An external system (MLflow server, Kubernetes API) cannot be reached."""


class ConflictError(LotsenError):
    """The request contradicts current state (e.g. no capacity, quota exceeded, bad layout)."""


class AgentRunError(LotsenError):
    """An agent run failed."""


class ToolExecutionError(AgentRunError):
    """A tool raised while an agent was running it."""


class ModelOutputError(AgentRunError):
    """An LLM returned output that failed validation after the allowed retries."""
