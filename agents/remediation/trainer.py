"""Training a challenger and comparing it with the champion on the same held-out window.

`SyntheticTrainer` is the embedded default: a real scikit-learn training run on data drawn
for the model (its label relation changes when the incident reports a performance drop),
so the challenger gate compares two real models on the same held-out rows. A production
trainer implements the same protocol (e.g. launches the team's pipeline as a Kubernetes Job).
"""

import hashlib
from typing import Protocol

import numpy as np
from pydantic import BaseModel
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score


class TrainResult(BaseModel):
    """A challenger and the champion, scored on the same held-out data."""

    metric: str
    challenger: float
    champion: float
    train_rows: int
    holdout_rows: int


class Trainer(Protocol):
    """Trains a challenger for a model."""

    def train(self, model: str, n_features: int, relation_changed: bool) -> TrainResult:
        """Train on recent data; score challenger and champion on the same held-out rows."""
        ...


class SyntheticTrainer:
    """scikit-learn logistic regression on seeded synthetic data."""

    def __init__(self, seed: int = 7, rows: int = 4000) -> None:
        """Same seed, same data, same result."""
        self._seed, self._rows = seed, rows

    def train(self, model: str, n_features: int, relation_changed: bool) -> TrainResult:
        """Old relation for the champion's data; recent data (maybe a new relation) for the rest."""
        rng = np.random.default_rng(
            int.from_bytes(hashlib.sha256(f"{self._seed}:{model}".encode()).digest()[:8], "little")
        )
        d = max(2, min(8, n_features))
        w_old = rng.normal(size=d) * 1.5
        w_new = 0.3 * w_old + rng.normal(size=d) * 1.2 if relation_changed else w_old
        x_old, y_old = _draw(rng, w_old, self._rows)
        x_new, y_new = _draw(rng, w_new, self._rows)
        split = int(self._rows * 0.7)
        champion = LogisticRegression().fit(x_old, y_old)
        challenger = LogisticRegression().fit(x_new[:split], y_new[:split])
        hold_x, hold_y = x_new[split:], y_new[split:]
        return TrainResult(
            metric="auc",
            challenger=round(
                float(roc_auc_score(hold_y, challenger.predict_proba(hold_x)[:, 1])), 4
            ),
            champion=round(float(roc_auc_score(hold_y, champion.predict_proba(hold_x)[:, 1])), 4),
            train_rows=split,
            holdout_rows=self._rows - split,
        )


def _draw(
    rng: np.random.Generator, weights: np.ndarray, rows: int
) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(rows, len(weights)))
    y = rng.random(rows) < 1 / (1 + np.exp(-(x @ weights)))
    return x, y.astype(int)
