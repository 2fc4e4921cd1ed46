"""Mapping between Lotsen's registry types and MLflow's string tags."""

from datetime import UTC, datetime
from typing import Any

from tools.domain import (
    Lineage,
    ModelTask,
    ModelVersion,
    NewModel,
    RegisteredModel,
)
from tools.registry.tag_contract import (
    CHANGE_PLAN,
    ENV,
    OWNER,
    PIPELINE,
    RISK,
    TASK,
    UNKNOWN,
    parse_change_plan,
    parse_env,
    parse_risk,
    parse_task,
)

MODEL_KEYS = ("owner", "env", "pipeline", "task", "ai_act_risk", "change_plan")
LINEAGE_PREFIX = "lineage."


def model_tags(spec: NewModel) -> dict[str, str]:
    """Tags that store a NewModel's Lotsen metadata on an MLflow registered model."""
    tags = dict(spec.tags)
    tags.update(
        owner=spec.owner,
        env=spec.env.value,
        pipeline=spec.pipeline,
        task=spec.task.value,
        ai_act_risk=spec.ai_act_risk.value,
    )
    if spec.change_plan is not None:
        tags["change_plan"] = spec.change_plan.model_dump_json()
    return tags


def to_registered_model(rm: Any) -> RegisteredModel:
    """Build a RegisteredModel from an MLflow RegisteredModel entity (any tags, never raises).

    Env and risk are parsed leniently (`tag_contract`); a missing or unrecognised value is
    None. A task or change plan that cannot be read is left at its default; `contract_tags`
    keeps every contract tag as stored, so `lotsen models lint` can tell what was wrong.
    """
    tags: dict[str, str] = dict(rm.tags or {})
    return RegisteredModel(
        name=rm.name,
        description=rm.description or "",
        owner=tags.get(OWNER, "").strip() or UNKNOWN,
        env=parse_env(tags.get(ENV)),
        pipeline=tags.get(PIPELINE, "").strip(),
        task=parse_task(tags.get(TASK)) or ModelTask.CLASSIFICATION,
        ai_act_risk=parse_risk(tags.get(RISK)),
        change_plan=parse_change_plan(tags.get(CHANGE_PLAN)),
        aliases={alias: int(version) for alias, version in (rm.aliases or {}).items()},
        tags={k: v for k, v in tags.items() if k not in MODEL_KEYS},
        contract_tags={k: v for k, v in tags.items() if k in MODEL_KEYS},
    )


def lineage_tags(lineage: Lineage) -> dict[str, str]:
    """Version tags that store lineage (the run id lives in MLflow's own field)."""
    fields = lineage.model_dump(exclude={"run_id"}, exclude_none=True, mode="json")
    return {LINEAGE_PREFIX + key: str(value) for key, value in fields.items() if value != ""}


def to_model_version(mv: Any, metrics: dict[str, float]) -> ModelVersion:
    """Build a ModelVersion from an MLflow ModelVersion entity and its run's metrics."""
    tags: dict[str, str] = dict(mv.tags or {})
    lineage_fields: dict[str, str] = {
        key.removeprefix(LINEAGE_PREFIX): value
        for key, value in tags.items()
        if key.startswith(LINEAGE_PREFIX)
    }
    return ModelVersion(
        model=mv.name,
        version=int(mv.version),
        created_at=datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC),
        aliases=tuple(mv.aliases or ()),
        metrics=metrics,
        lineage=Lineage.model_validate({"run_id": mv.run_id or None, **lineage_fields}),
        tags={k: v for k, v in tags.items() if not k.startswith(LINEAGE_PREFIX)},
        description=mv.description or "",
    )
