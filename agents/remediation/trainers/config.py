"""Which trainer retrains which model: `LOTSEN_TRAINER`, the trainers file, model tags.

The trainers file (`LOTSEN_TRAINERS_FILE`, YAML) lists entries; the first whose `model`
(a name or a glob such as `fraud-*`) matches is the model's::

    trainers:
      - model: fraud-*
        kind: kubernetes            # synthetic | local | kubernetes
        image: ghcr.io/acme/fraud-train:1.4
        command: [python, -m, fraud.train]
        env: {FEATURE_STORE: feast-prod}
        holdout: {path: holdout/fraud.parquet, label: is_fraud}
        window_days: 30
        timeout_hours: 4

Without an entry, the model's own tags `train.image`, `train.command` (a shell-quoted
string), `train.holdout` and `train.holdout_label` say the same. `kind` defaults to
`LOTSEN_TRAINER`, else `kubernetes` when there is an image, else `local`. With nothing
configured, the embedded demo world (no `LOTSEN_MLFLOW_URI`) uses the synthetic trainer; a
world on an external registry has no trainer, and its retrains fail saying what to set.
"""

import fnmatch
import shlex
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.remediation.trainers.holdout import HoldoutFile, PyfuncScorer
from agents.remediation.trainers.kubernetes import KubernetesJobTrainer
from agents.remediation.trainers.local import LocalCommandTrainer
from agents.remediation.trainers.protocol import Trainer, TrainerChoice
from agents.remediation.trainers.synthetic import Advance, SyntheticScorer, SyntheticTrainer
from agents.remediation.trainers.versions import mlflow_run_tag_lookup
from tools.cluster.kubernetes import KubernetesCluster
from tools.cluster.protocol import Cluster
from tools.domain import RegisteredModel
from tools.errors import ConfigError
from tools.registry import ModelRegistry

TrainerKind = Literal["synthetic", "local", "kubernetes"]
SET_HINT = (
    "set LOTSEN_TRAINERS_FILE (an entry for it with image/command and holdout), or the "
    "model's train.image / train.command and train.holdout tags, or LOTSEN_TRAINER=synthetic "
    "for a demo"
)


class HoldoutEntry(BaseModel):
    """Where a model's held-out labelled window is."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    label: str = "label"
    features: list[str] = Field(default_factory=list)


class TrainerEntry(BaseModel):
    """One entry of the trainers file."""

    model_config = ConfigDict(extra="forbid")

    model: str
    """A model name or a glob (`fraud-*`)."""
    kind: TrainerKind | None = None
    image: str | None = None
    command: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: Path | None = None
    """Working directory of a local command (relative to the file)."""
    holdout: HoldoutEntry | None = None
    window_days: float = Field(default=30.0, gt=0)
    timeout_hours: float | None = Field(default=None, gt=0)


class TrainersFile(BaseModel):
    """The trainers file."""

    model_config = ConfigDict(extra="forbid")

    trainers: list[TrainerEntry] = Field(default_factory=list)


def load_trainers_file(path: Path) -> list[TrainerEntry]:
    """The file's entries with paths made relative to it; ConfigError on a bad file."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        entries = TrainersFile.model_validate(raw).trainers
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"LOTSEN_TRAINERS_FILE {path}: {exc}") from exc
    base = path.parent
    for entry in entries:
        if entry.holdout is not None and not entry.holdout.path.is_absolute():
            entry.holdout.path = base / entry.holdout.path
        if entry.cwd is not None and not entry.cwd.is_absolute():
            entry.cwd = base / entry.cwd
    return entries


@dataclass
class TrainerSetup:
    """Everything needed to build a model's trainer (one per world)."""

    registry: ModelRegistry
    cluster: Cluster
    tracking_uri: str
    embedded: bool
    """The world's own SQLite registry (the demo), not `LOTSEN_MLFLOW_URI`."""
    kind: TrainerKind | None = None
    """`LOTSEN_TRAINER`."""
    entries: tuple[TrainerEntry, ...] = ()
    timeout: timedelta = timedelta(hours=6)
    advance: Advance | None = None
    """The twin's clock (synthetic training jobs run on it)."""

    def __call__(self, model: RegisteredModel) -> TrainerChoice:
        """The model's trainer; ConfigError saying what to set when there is none."""
        entry = next((e for e in self.entries if fnmatch.fnmatchcase(model.name, e.model)), None)
        entry = entry or _from_tags(model)
        kind = (entry.kind if entry else None) or self.kind
        if kind is None and entry is not None:
            kind = "kubernetes" if entry.image else "local" if entry.command else None
        if kind is None and self.embedded:
            kind = "synthetic"
        if kind is None:
            raise ConfigError(f"no trainer configured for {model.name}: {SET_HINT}")
        window = timedelta(days=entry.window_days) if entry else timedelta(days=30)
        timeout = (
            timedelta(hours=entry.timeout_hours) if entry and entry.timeout_hours else self.timeout
        )
        if kind == "synthetic":
            twin = self.cluster if self.advance is not None else None
            trainer: Trainer = SyntheticTrainer(self.registry, twin, self.advance)
            return TrainerChoice(trainer, SyntheticScorer(), window, timeout)
        if entry is None:
            raise ConfigError(
                f"no trainer configured for {model.name}: LOTSEN_TRAINER={kind} needs its "
                f"image/command; {SET_HINT}"
            )
        trainer = self._real(model, kind, entry)
        if entry.holdout is None:
            raise ConfigError(
                f"no held-out window configured for {model.name}: set holdout in "
                "LOTSEN_TRAINERS_FILE or the model's train.holdout tag"
            )
        holdout = HoldoutFile(entry.holdout.path, entry.holdout.label, entry.holdout.features)
        return TrainerChoice(
            trainer,
            PyfuncScorer(holdout, self.tracking_uri),
            window,
            timeout,
            lookup=mlflow_run_tag_lookup(self.tracking_uri),
        )

    def _real(self, model: RegisteredModel, kind: TrainerKind, entry: TrainerEntry) -> Trainer:
        if kind == "local":
            if not entry.command:
                raise ConfigError(f"no training command configured for {model.name}: {SET_HINT}")
            return LocalCommandTrainer(
                entry.command, tracking_uri=self.tracking_uri, env=entry.env, cwd=entry.cwd
            )
        if not entry.image:
            raise ConfigError(f"no training image configured for {model.name}: {SET_HINT}")
        if not isinstance(self.cluster, KubernetesCluster):
            raise ConfigError(
                f"the Kubernetes trainer of {model.name} needs LOTSEN_CLUSTER=kubernetes"
            )
        env = dict(entry.env)
        if not self.embedded:
            env.setdefault("MLFLOW_TRACKING_URI", self.tracking_uri)
        return KubernetesJobTrainer(self.cluster, image=entry.image, command=entry.command, env=env)


def _from_tags(model: RegisteredModel) -> TrainerEntry | None:
    """An entry from the model's `train.*` tags, or None when it has none."""
    image, command = model.tags.get("train.image"), model.tags.get("train.command")
    if not image and not command:
        return None
    path = model.tags.get("train.holdout")
    label = model.tags.get("train.holdout_label", "label")
    return TrainerEntry(
        model=model.name,
        image=image or None,
        command=shlex.split(command) if command else [],
        holdout=HoldoutEntry(path=Path(path), label=label) if path else None,
    )
