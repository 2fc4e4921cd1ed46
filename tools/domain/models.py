"""Registry-side domain types: models, versions, lineage, pipelines, alias history."""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from tools.domain.common import DomainModel, Environment


class AiActRisk(StrEnum):
    """EU AI Act risk class of a model's use case."""

    MINIMAL = "minimal"
    LIMITED = "limited"
    HIGH = "high"


class ModelTask(StrEnum):
    """What a model predicts."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    FORECAST = "forecast"


class ChangeKind(StrEnum):
    """A kind of change a pre-determined change plan may allow."""

    RETRAIN_SAME_FEATURES = "retrain_same_features"
    HYPERPARAMETER_TUNING = "hyperparameter_tuning"
    NEW_FEATURES = "new_features"
    NEW_ALGORITHM = "new_algorithm"


class ChangePlan(DomainModel):
    """A pre-determined change plan: the changes allowed without a new conformity review."""

    allowed: tuple[ChangeKind, ...] = (ChangeKind.RETRAIN_SAME_FEATURES,)
    """Changes inside the plan; anything else is a substantial modification."""
    max_metric_drop: float = 0.02
    """Largest allowed drop of the primary metric versus the champion."""
    reference: str = ""
    """Where the plan is documented (URL or document id)."""


class FeatureKind(StrEnum):
    """Statistical type of a feature."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


class FeatureSpec(DomainModel):
    """One feature produced by a pipeline."""

    name: str
    kind: FeatureKind
    mean: float = 0.0
    """Typical mean (numeric) used by the synthetic world."""
    std: float = 1.0
    """Typical standard deviation (numeric)."""
    categories: tuple[str, ...] = ()
    """Known categories (categorical)."""


class FeaturePipeline(DomainModel):
    """An upstream feature pipeline feeding one or more models."""

    name: str
    owner: str
    """Team that owns the pipeline and receives its data incidents."""
    source: str
    """Upstream system the pipeline reads from."""
    features: tuple[FeatureSpec, ...]


class Lineage(DomainModel):
    """Where a model version came from."""

    run_id: str | None = None
    """MLflow run that trained the version."""
    training_data: str = ""
    """Dataset or window the version was trained on (URI or description)."""
    parent_version: int | None = None
    """Version this one was retrained from."""
    code_version: str = ""
    """Git commit or image tag of the training code."""
    promoted_from: Environment | None = None
    """Environment where the version was validated before reaching this one."""


class ModelMetadata(DomainModel):
    """What every model carries, registered or about to be (env and risk differ)."""

    name: str
    owner: str
    """Team accountable for the model."""
    pipeline: str
    """Feature pipeline that feeds it."""
    description: str = ""
    task: ModelTask = ModelTask.CLASSIFICATION
    change_plan: ChangePlan | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    """Other tags, as stored in the registry."""


class NewModel(ModelMetadata):
    """What is needed to register a model; its metadata lives in registry tags."""

    env: Environment
    """Environment where the model's champion serves."""
    ai_act_risk: AiActRisk = AiActRisk.MINIMAL


class RegisteredModel(ModelMetadata):
    """A model as the registry holds it: its aliases, and env/risk only when tagged validly.

    A registry Lotsen did not seed may lack the tag contract (README, "The tag contract"):
    a missing or unrecognised env or risk is None, never a guessed default, and the
    compliance gate treats it as the strictest value (prod, high-risk).
    """

    env: Environment | None = None
    """Environment where the model's champion serves; None when the tag is missing/unknown."""
    ai_act_risk: AiActRisk | None = None
    """EU AI Act risk class; None when the tag is missing or unknown."""
    aliases: dict[str, int] = Field(default_factory=dict)
    """Alias name -> version number."""
    contract_tags: dict[str, str] = Field(default_factory=dict)
    """The tag-contract keys (owner, env, ...) as stored, to tell missing from not understood."""


class ModelVersion(DomainModel):
    """One version of a registered model."""

    model: str
    version: int
    created_at: datetime
    aliases: tuple[str, ...] = ()
    metrics: dict[str, float] = Field(default_factory=dict)
    """Held-out metrics logged by the training run."""
    lineage: Lineage = Field(default_factory=Lineage)
    tags: dict[str, str] = Field(default_factory=dict)
    description: str = ""


class NewVersion(DomainModel):
    """What is needed to log a new version of a registered model."""

    metrics: dict[str, float] = Field(default_factory=dict)
    lineage: Lineage = Field(default_factory=Lineage)
    tags: dict[str, str] = Field(default_factory=dict)
    description: str = ""


class AliasChange(DomainModel):
    """One recorded move of an alias (MLflow keeps no alias history; Lotsen does)."""

    seq: int
    """Position in the append-only history."""
    at: datetime
    model: str
    alias: str
    old_version: int | None
    """Version the alias pointed to before, None if it was unset."""
    new_version: int | None
    """Version it points to now, None if it was deleted."""
    actor: str
    """Who moved it (user or agent id)."""
    reason: str
