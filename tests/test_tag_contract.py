"""The tag contract: lenient reading, unknown instead of a guess, never a crash."""

from types import SimpleNamespace

import pytest

from tools.domain import AiActRisk, Environment, ModelTask
from tools.registry.mlflow_tags import to_registered_model
from tools.registry.tag_contract import contract_problems, parse_env, parse_risk


@pytest.mark.parametrize(
    ("raw", "env"),
    [
        ("production", Environment.PROD),
        ("PRD", Environment.PROD),
        (" Prod ", Environment.PROD),
        ("staging", Environment.TEST),
        ("QA", Environment.TEST),
        ("testing", Environment.TEST),
        ("Development", Environment.DEV),
        ("sandbox", Environment.DEV),
        ("staging2", None),
        ("", None),
        (None, None),
    ],
)
def test_env_synonyms_are_read_and_anything_else_is_unknown(
    raw: str | None, env: Environment | None
) -> None:
    assert parse_env(raw) is env


@pytest.mark.parametrize(
    ("raw", "risk"),
    [
        ("HIGH", AiActRisk.HIGH),
        ("high-risk", AiActRisk.HIGH),
        ("Limited", AiActRisk.LIMITED),
        ("low", AiActRisk.MINIMAL),
        ("unacceptable", None),
        (None, None),
    ],
)
def test_risk_synonyms_are_read_and_anything_else_is_unknown(
    raw: str | None, risk: AiActRisk | None
) -> None:
    assert parse_risk(raw) is risk


def _entity(tags: dict[str, str]) -> SimpleNamespace:
    return SimpleNamespace(name="m", description=None, tags=tags, aliases={"champion": "3"})


def test_unreadable_tags_become_unknown_and_are_reported_not_raised() -> None:
    model = to_registered_model(
        _entity({"env": "Production", "ai_act_risk": "?", "task": "ranking", "change_plan": "{"})
    )
    assert model.env is Environment.PROD and model.ai_act_risk is None
    assert model.task is ModelTask.CLASSIFICATION and model.change_plan is None
    problems = {p.key: p.problem for p in contract_problems(model)}
    assert problems["ai_act_risk"] == "'?' not understood"
    assert problems["task"] == "'ranking' not understood"
    assert problems["change_plan"] == "'{' not understood"
    assert problems["owner"] == "missing" and "env" not in problems


def test_a_model_without_tags_is_unknown_not_dev_and_minimal() -> None:
    model = to_registered_model(_entity({}))
    assert (model.env, model.ai_act_risk, model.owner) == (None, None, "unknown")
    assert model.aliases == {"champion": 3}
