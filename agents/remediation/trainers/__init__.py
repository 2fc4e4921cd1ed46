"""Retraining a challenger: the `Trainer` seam, its adapters and the champion comparison.

Adapters: `KubernetesJobTrainer` (the model's training image as a Job), `LocalCommandTrainer`
(the team's script as a subprocess), `SyntheticTrainer` (the embedded demo and tests only).
`TrainerSetup` picks one per model from the configuration (`config.py`).
"""

from agents.remediation.trainers.protocol import (
    RUN_TAG,
    Comparison,
    RunTagLookup,
    Scorer,
    Trainer,
    TrainerChoice,
    TrainerFor,
    TrainingOutcome,
    TrainingRequest,
)

__all__ = [
    "RUN_TAG",
    "Comparison",
    "RunTagLookup",
    "Scorer",
    "Trainer",
    "TrainerChoice",
    "TrainerFor",
    "TrainingOutcome",
    "TrainingRequest",
]
