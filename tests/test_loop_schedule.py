"""The operating loop's scan schedule: interval per model class, watches, the world's clock."""

from datetime import UTC, datetime, timedelta

from lotsen.loop.schedule import due, intervals, next_due
from tools.domain import Environment, RegisteredModel

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
EVERY = {Environment.PROD: 6.0, Environment.TEST: 24.0, Environment.DEV: 48.0}


def model(name: str, env: Environment | None) -> RegisteredModel:
    return RegisteredModel.model_validate(
        {"name": name, "owner": "team", "pipeline": "p", "task": "classification", "env": env}
    )


FLEET = [
    model("prod-a", Environment.PROD),
    model("test-b", Environment.TEST),
    model("dev-c", Environment.DEV),
    model("untagged-d", None),
]


def test_interval_per_class_untagged_counts_as_prod_and_a_watch_raises_the_frequency() -> None:
    every = intervals(FLEET, EVERY, {"test-b": 1.0, "prod-a": 12.0})
    assert every == {
        "prod-a": timedelta(hours=6),  # a watch never slows a model down
        "test-b": timedelta(hours=1),
        "dev-c": timedelta(hours=48),
        "untagged-d": timedelta(hours=6),  # unknown means strictest
    }


def test_a_class_without_an_interval_gets_the_prod_one() -> None:
    every = intervals(FLEET, {Environment.PROD: 2.0}, {})
    assert set(every.values()) == {timedelta(hours=2)}


def test_due_follows_the_world_clock() -> None:
    every = intervals(FLEET, EVERY, {})
    last = {
        "prod-a": NOW - timedelta(hours=6),  # exactly due
        "test-b": NOW - timedelta(hours=23),  # not yet
        "dev-c": NOW + timedelta(hours=3),  # the twin was reset to an earlier clock
    }  # untagged-d: never scanned
    assert due(every, last, NOW) == ["dev-c", "prod-a", "untagged-d"]
    assert due(every, {**last, "dev-c": NOW, "prod-a": NOW, "untagged-d": NOW}, NOW) == []


def test_next_due_is_the_earliest() -> None:
    every = intervals(FLEET, EVERY, {})
    last = dict.fromkeys(("prod-a", "test-b", "dev-c", "untagged-d"), NOW)
    assert next_due(every, last, NOW) == NOW + timedelta(hours=6)
    assert next_due(every, {}, NOW) == NOW
    assert next_due({}, {}, NOW) is None
