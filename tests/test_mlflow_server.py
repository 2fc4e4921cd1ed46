"""The registry against a real MLflow tracking server (not only the SQLite file)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.fleet.catalog import FleetCatalog
from tools.fleet.generate import generate_fleet
from tools.fleet.seed import seed_fleet
from tools.registry import CHAMPION, AliasHistory, MlflowRegistry


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    log = (root / "server.log").open("w")
    process = subprocess.Popen(
        [
            str(mlflow),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'server.db'}",
            "--default-artifact-root",
            str(root / "artifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**os.environ, "HOME": str(root)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(url + "/health", timeout=1):
                    break
            except OSError:
                assert process.poll() is None, (root / "server.log").read_text()[-2000:]
                time.sleep(0.25)
        else:
            pytest.fail("mlflow server did not start in 60 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


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
