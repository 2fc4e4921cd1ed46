"""The twin records deploys, scale and serving changes where they happen; the port reads them."""

from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.cli import shared_data_dir
from tests.support.worlds import opened_copy
from tools.cluster.sim import SimCluster
from tools.domain.events import EventKind
from tools.errors import ConfigError
from tools.registry import CHAMPION
from world.remediation import remediation_port, world_events

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_data_dir(tmp_path_factory, models=16, seed=4)


def test_changes_on_the_twin_are_events_and_a_revert_restores_the_config(
    seeded: Path, tmp_path: Path
) -> None:
    with opened_copy(seeded, tmp_path) as world:
        twin = world.cluster
        assert isinstance(twin, SimCluster)
        dep = twin.deployments()[0]
        subject = f"{dep.namespace}/{dep.name}"
        start = twin.now()
        twin.scale(dep.namespace, dep.name, dep.replicas, dry_run=False)  # no change: no event
        twin.scale(dep.namespace, dep.name, dep.replicas + 1, dry_run=True)  # dry run: none
        assert twin.events.all() == []
        twin.scale(dep.namespace, dep.name, dep.replicas + 1)
        twin.advance(timedelta(hours=1))
        changed = twin.change_serving(
            dep.namespace, dep.name, {"max_batch_size": 256}, actor="carol", reason="throughput"
        )
        twin.set_model_version(dep.namespace, dep.name, dep.model_version + 1)
        kinds = [(e.kind, e.subject, e.actor) for e in twin.events.all()]
        assert kinds == [
            (EventKind.SCALE, subject, "twin"),
            (EventKind.CONFIG_CHANGE, subject, "carol"),
            (EventKind.DEPLOY, subject, "twin"),
        ]
        assert changed.before == {"max_batch_size": None}
        assert changed.version == dep.model_version and changed.environment is dep.env
        with pytest.raises(ConfigError, match="not a serving change"):
            twin.change_serving(dep.namespace, dep.name, {"x": 1}, kind=EventKind.SCALE)
        # the remediation port reads them (and alias moves) and can revert a serving change
        world.registry.set_alias(dep.model, CHAMPION, dep.model_version, actor="t", reason="t")
        port = remediation_port(world)
        assert port.revert is not None and port.events is not None
        seen = world_events(world, {dep.model}, start, twin.now())
        assert [e.kind for e in seen][:3] == [
            EventKind.SCALE,
            EventKind.CONFIG_CHANGE,
            EventKind.DEPLOY,
        ]
        undone = port.revert(changed, "lotsen-remediation", "revert")
        assert undone.after == {"max_batch_size": None}
        assert twin.events.latest_config(subject) == {"max_batch_size": None}


def test_plan_only_names_the_change_a_latency_regression_follows(
    seeded: Path, tmp_path: Path
) -> None:
    from agents.remediation.plan import Action
    from agents.remediation.runner import plan_only
    from tools.drift.incidents import Incident

    with opened_copy(seeded, tmp_path) as world:
        twin = world.cluster
        assert isinstance(twin, SimCluster)
        dep = twin.deployments()[0]
        changed = twin.change_serving(dep.namespace, dep.name, {"max_batch_size": 256})
        twin.advance(timedelta(hours=2))
        incident = Incident(
            id="inc-latency",
            kind="latency_regression",
            models=[dep.model],
            probable_cause="p95 x3",
            window_start=twin.now(),
        )
        [(plan, _)] = plan_only([incident], remediation_port(world))
        assert plan.action is Action.REVERT_CHANGE and plan.cause_event == changed
        assert changed.id in plan.reason


def test_events_list_cli_reads_a_window(
    seeded: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from tests.support.cli import run_lotsen

    with opened_copy(seeded, tmp_path) as world:
        twin = world.cluster
        assert isinstance(twin, SimCluster)
        dep = twin.deployments()[0]
        changed = twin.change_serving(dep.namespace, dep.name, {"max_batch_size": 256})
        data = str(world.settings.data_dir)
    code, out, err = run_lotsen(capsys, monkeypatch, "--data-dir", data, "events", "list", "--json")
    assert code == 0, err
    assert [e["id"] for e in json.loads(out)] == [changed.id]
    code, out, err = run_lotsen(
        capsys, monkeypatch, "--data-dir", data, "events", "list", "--model", "no-such-model"
    )
    assert code == 2 and "unknown model 'no-such-model'" in err, err
    code, _, err = run_lotsen(
        capsys, monkeypatch, "--data-dir", data, "events", "list", "--hours", "0"
    )
    assert code == 2 and "--hours must be a finite number > 0" in err
