"""Model registry: the protocol, the MLflow implementation and the alias history."""

from tools.registry.alias_history import AliasHistory
from tools.registry.mlflow_registry import MlflowRegistry, sqlite_uri
from tools.registry.protocol import CHALLENGER, CHAMPION, ModelRegistry

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "AliasHistory",
    "MlflowRegistry",
    "ModelRegistry",
    "sqlite_uri",
]
