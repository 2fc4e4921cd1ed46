"""The assistant at tier 0 on a user's registry: tag-contract gaps ("which prod models have no
owner tag?"), models not retrained for a while, and requests that are not about the fleet
although they name an ops word."""

from datetime import timedelta
from typing import Any

import pytest

from agents.assistant import AssistantContext, answer
from tests.support.assistant_world import World, world
from tools.domain import Environment, ModelVersion, RegisteredModel

__all__ = ["world"]  # the shared fixture


class Untagged:
    """The world's registry with some contract tags removed (as a user's registry may have)."""

    def __init__(self, registry: Any, drop: dict[str, tuple[str, ...]]) -> None:
        self.registry, self.drop = registry, drop

    def list_models(self) -> list[RegisteredModel]:
        return [self._dropped(m) for m in self.registry.list_models()]

    def _dropped(self, model: RegisteredModel) -> RegisteredModel:
        keys = self.drop.get(model.name, ())
        update: dict[str, object] = {
            "contract_tags": {k: v for k, v in model.contract_tags.items() if k not in keys},
            "tags": {k: v for k, v in model.tags.items() if k not in keys},
        }
        if "owner" in keys:
            update["owner"] = "unknown"
        if "env" in keys:
            update["env"] = None
        return model.model_copy(update=update)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.registry, name)


def _models(world: World, env: Environment) -> list[RegisteredModel]:
    return sorted((m for m in world.registry.list_models() if m.env is env), key=lambda m: m.name)


def _ask(world: World, question: str, drop: dict[str, tuple[str, ...]]) -> Any:
    ctx = AssistantContext(
        registry=Untagged(world.registry, drop),
        cluster=world.cluster,
        user="alice",
    )
    return answer(question, ctx)


def test_prod_models_without_an_owner_tag_are_listed_and_no_others(world: World) -> None:
    prod, dev = _models(world, Environment.PROD), _models(world, Environment.DEV)
    no_owner_prod, no_owner_dev, no_env = prod[0].name, dev[0].name, prod[1].name
    drop = {no_owner_prod: ("owner",), no_owner_dev: ("owner",), no_env: ("owner", "env")}
    reply = _ask(world, "which prod models have no owner tag?", drop)
    assert reply.intent == "tag_gaps"
    # the dev model is out of scope; the model with no env tag counts as prod (strictest)
    assert sorted(reply.entities) == sorted([no_owner_prod, no_env])
    assert reply.facts["models"][no_owner_prod] == ["owner missing"]
    assert no_owner_dev not in reply.text


def test_a_question_naming_no_tag_lists_every_gap(world: World) -> None:
    before = _ask(world, "which models are missing tags?", {}).facts["models"]
    model = _models(world, Environment.TEST)[0].name
    reply = _ask(world, "which models are missing tags?", {model: ("env",)})
    assert reply.intent == "tag_gaps" and model not in before
    assert reply.facts["models"] == {**before, model: ["env missing"]}


def test_a_fleet_tagged_by_contract_has_no_risk_gaps(world: World) -> None:
    reply = _ask(world, "models without a risk tag?", {})
    assert (reply.intent, reply.entities, reply.facts["count"]) == ("tag_gaps", [], 0)
    assert reply.facts["tags"] == ["ai_act_risk"]


@pytest.mark.parametrize(
    "question",
    [
        "translate 'model drift' to german",
        "write me a poem about drift",
        "tell me a joke about gpus",
        "please compose a song about the fraud models",
    ],
)
def test_requests_that_are_not_about_the_fleet_are_not_understood(
    world: World, question: str
) -> None:
    reply = _ask(world, question, {})
    assert (reply.intent, reply.entities) == ("unrecognised", [])
    assert "I did not understand" in reply.text


class Aged:
    """The world's registry with one model's newest version registered `days` days earlier."""

    def __init__(self, registry: Any, model: str, days: int) -> None:
        self.registry, self.model, self.days = registry, model, days

    def all_versions(self, model: str | None = None) -> list[ModelVersion]:
        versions = self.registry.all_versions(model)
        newest = max((v.version for v in versions if v.model == self.model), default=None)
        return [
            v.model_copy(update={"created_at": v.created_at - timedelta(days=self.days)})
            if (v.model, v.version) == (self.model, newest)
            else v
            for v in versions
        ]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.registry, name)


def _ask_aged(world: World, question: str, model: str, days: int, later: int) -> Any:
    """Ask `later` days after the newest version of every model but `model` (`days` older)."""
    newest = max(v.created_at for v in world.registry.all_versions())
    ctx = AssistantContext(
        registry=Aged(world.registry, model, days),
        cluster=world.cluster,
        user="alice",
        clock=lambda: newest + timedelta(days=later),
    )
    return answer(question, ctx)


def test_models_not_retrained_for_the_days_asked_are_listed_oldest_first(world: World) -> None:
    old = _models(world, Environment.PROD)[0].name
    reply = _ask_aged(world, "which prod models haven't been retrained in 90 days?", old, 60, 40)
    assert (reply.intent, reply.entities, reply.facts["days"]) == ("stale_models", [old], 90)
    everything = _ask_aged(world, "which prod models are stale?", old, 60, 100)
    prod = [m.name for m in _models(world, Environment.PROD)]
    assert everything.entities[0] == old and sorted(everything.entities) == sorted(prod)


def test_no_model_is_stale_right_after_its_retrain(world: World) -> None:
    reply = _ask_aged(world, "which models have not been retrained for 30 days", "x", 0, 1)
    assert (reply.intent, reply.entities, reply.facts["count"]) == ("stale_models", [], 0)
