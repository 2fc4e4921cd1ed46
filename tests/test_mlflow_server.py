"""The registry against a real MLflow tracking server (not only the SQLite file)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mlflow_server import mlflow_server as running_server
from tools.fleet.catalog import FleetCatalog
from tools.fleet.generate import generate_fleet
from tools.fleet.seed import seed_fleet
from tools.registry import CHAMPION, AliasHistory, MlflowRegistry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


def test_seed_and_alias_history_over_http(
    mlflow_server: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    registry = MlflowRegistry(mlflow_server, AliasHistory(tmp_path / "h.db"), tmp_path / "a")
    fleet = generate_fleet(6, seed=21)
    seed_fleet(fleet, registry, tmp_path / "c.db", FleetCatalog(tmp_path / "f.db"))
    models = registry.list_models()
    assert len(models) == 6 and all(CHAMPION in m.aliases for m in models)
    name = models[0].name
    version = registry.create_version(name, fleet.models[0].versions[0])
    registry.set_alias(name, CHAMPION, version.version, actor="alice", reason="retrained")
    assert registry.get_alias(name, CHAMPION).version == version.version
    assert registry.alias_history(name)[-1].actor == "alice"
    # Re-running the same seed against the server is a no-op, not a duplicate.
    seed_fleet(fleet, registry, tmp_path / "c.db", FleetCatalog(tmp_path / "f.db"))
    assert len(registry.list_models()) == 6
    assert "View run" not in capfd.readouterr().out
