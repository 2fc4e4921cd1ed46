"""Compliance gaps injected on purpose: ground truth for tests, evals and the demo."""

from tools.cluster.sim import SimCluster
from tools.cluster.sim.faults import CONFIG_DRIFTS
from tools.domain import ChangeKind
from tools.domain.ownership import serving_namespace
from tools.errors import ConfigError, StateError
from tools.policy import tags
from tools.registry import CHAMPION
from tools.registry.mlflow_registry import MlflowRegistry

MODEL_TAG_GAPS: dict[str, tuple[str, str]] = {
    "overseer_missing": (tags.OVERSEER, ""),
    "logging_off": (tags.INFERENCE_LOGGING, "off"),
    "short_retention": (tags.LOG_RETENTION_DAYS, "90"),
    "pmm_missing": (tags.POST_MARKET_PLAN, ""),
    "rollback_untested": (tags.ROLLBACK_TESTED_AT, ""),
}
CHAMPION_TAG_GAPS: dict[str, tuple[str, str]] = {
    "unapproved_promotion": (tags.APPROVAL, ""),
    "substantial_modification": (tags.CHANGE_KIND, ChangeKind.NEW_FEATURES.value),
    "failed_data_checks": (tags.DATA_CHECKS, "failed"),
}
OTHER_GAPS = ("alias_changed_outside", "prod_not_champion")
GAP_KINDS = (*MODEL_TAG_GAPS, *CHAMPION_TAG_GAPS, *OTHER_GAPS, *CONFIG_DRIFTS)


def inject_gap(
    kind: str, target: str, registry: MlflowRegistry, twin: SimCluster, value: str = ""
) -> None:
    """Create one known compliance gap.

    Args:
        kind: One of GAP_KINDS.
        target: A model name for registry gaps; see `SimCluster.inject_config_drift`
            for cluster ones.
        registry: The fleet's registry.
        twin: The fleet's cluster twin.
        value: Optional detail for cluster gaps.

    Raises:
        ConfigError: unknown kind. StateError: the model has no version to break.
    """
    if kind in CONFIG_DRIFTS:
        twin.inject_config_drift(kind, target, value)
    elif kind in MODEL_TAG_GAPS:
        key, bad = MODEL_TAG_GAPS[kind]
        registry.set_model_tag(target, key, bad)
    elif kind in CHAMPION_TAG_GAPS:
        key, bad = CHAMPION_TAG_GAPS[kind]
        registry.set_version_tag(target, _champion(registry, target), key, bad)
    elif kind == "alias_changed_outside":
        _move_champion_out_of_band(registry, target)
    elif kind == "prod_not_champion":
        namespace = serving_namespace(registry.get_model(target))
        if namespace is None:
            raise StateError(f"{target} has no env tag: no serving namespace to change")
        twin.set_model_version(namespace, target, _other_version(registry, target))
    else:
        raise ConfigError(f"unknown compliance gap {kind!r}; known: {', '.join(GAP_KINDS)}")


def _champion(registry: MlflowRegistry, model: str) -> int:
    champion = registry.get_model(model).aliases.get(CHAMPION)
    if champion is None:
        raise StateError(f"{model} has no champion to break")
    return champion


def _other_version(registry: MlflowRegistry, model: str) -> int:
    champion = _champion(registry, model)
    others = [v.version for v in registry.list_versions(model) if v.version != champion]
    if not others:
        raise StateError(f"{model} has only its champion v{champion}; pick a model with more")
    return max(others)


def _move_champion_out_of_band(registry: MlflowRegistry, model: str) -> None:
    """Move @champion with the bare MLflow client: no alias history, no audit."""
    registry.client.set_registered_model_alias(
        model, CHAMPION, str(_other_version(registry, model))
    )
