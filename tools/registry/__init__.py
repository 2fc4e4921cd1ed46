"""Model registry: the protocol, the MLflow implementation, the alias history, rollback."""

from tools.registry.alias_history import AliasHistory
from tools.registry.mlflow_registry import MlflowRegistry, sqlite_uri
from tools.registry.protocol import CHALLENGER, CHAMPION, ModelRegistry
from tools.registry.rollback import RollbackSource, RollbackTarget, rollback_target

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "AliasHistory",
    "MlflowRegistry",
    "ModelRegistry",
    "RollbackSource",
    "RollbackTarget",
    "rollback_target",
    "sqlite_uri",
]
