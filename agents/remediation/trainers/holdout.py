"""Scoring champion and challenger through MLflow on the same held-out labelled window.

The held-out window is a file the model team keeps current (`HoldoutFile`: CSV or Parquet,
one label column, every other column a feature, or the listed `features`). Both versions are
loaded with `mlflow.pyfunc.load_model("models:/NAME/VERSION")` and scored on its rows in the
same run: the champion's number is never a stored metric. The score is ROC AUC of the
prediction (the last column when the model returns one per class, e.g. a model logged with
`pyfunc_predict_fn="predict_proba"`; class labels also work, coarsely).
"""

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.remediation.trainers.protocol import Comparison
from tools.domain import RegisteredModel
from tools.errors import ConfigError, LotsenError


@dataclass(frozen=True)
class HoldoutFile:
    """A held-out labelled window: a CSV or Parquet file with a label column."""

    path: Path
    label: str = "label"
    features: Sequence[str] = ()
    """Feature columns in the model's order; empty = every column but the label."""

    def load(self) -> tuple[Any, np.ndarray]:
        """(features as a DataFrame, labels); ConfigError naming what is wrong."""
        import pandas as pd

        if not self.path.is_file():
            raise ConfigError(f"held-out window {self.path} does not exist")
        frame = (
            pd.read_parquet(self.path)
            if self.path.suffix in (".parquet", ".pq")
            else pd.read_csv(self.path)
        )
        if self.label not in frame.columns:
            raise ConfigError(f"held-out window {self.path} has no label column {self.label!r}")
        columns = list(self.features) or [c for c in frame.columns if c != self.label]
        labels = frame[self.label].to_numpy()
        if len(set(labels.tolist())) < 2:
            raise ConfigError(f"held-out window {self.path} needs rows of both classes")
        return frame[columns], labels


class PyfuncScorer:
    """Loads both versions through MLflow and scores them on one held-out file."""

    def __init__(self, holdout: HoldoutFile, tracking_uri: str) -> None:
        """Score on `holdout`, loading models from the registry at `tracking_uri`."""
        self._holdout, self._uri = holdout, tracking_uri

    def compare(self, model: RegisteredModel, champion: int | None, challenger: int) -> Comparison:
        """Load and score the champion and the challenger now, on the same rows."""
        x, y = self._holdout.load()
        with _registry(self._uri):
            return Comparison(
                metric="auc",
                champion=None if champion is None else score(model.name, champion, x, y),
                challenger=score(model.name, challenger, x, y),
                holdout_rows=len(y),
                holdout=str(self._holdout.path),
            )


def score(name: str, version: int, x: Any, y: np.ndarray) -> float:
    """ROC AUC of `models:/name/version` on (x, y), loaded through MLflow's pyfunc."""
    from sklearn.metrics import roc_auc_score

    with warnings.catch_warnings():
        # MLflow's import and loading warn about type hints and environments: not ours
        warnings.simplefilter("ignore")
        import mlflow.pyfunc
        from mlflow.exceptions import MlflowException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
        predicted = np.asarray(loaded.predict(x), dtype=float)
    except (MlflowException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LotsenError(
            f"cannot score {name} v{version} on the held-out window: {first}"
        ) from exc
    if predicted.ndim == 2:
        predicted = predicted[:, -1]
    return round(float(roc_auc_score(y, predicted)), 4)


@contextmanager
def _registry(uri: str) -> Iterator[None]:
    """MLflow's tracking and registry URI set to `uri` for the block (restored after)."""
    import mlflow

    tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(tracking)
        mlflow.set_registry_uri(registry)
