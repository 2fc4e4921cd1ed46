"""A real `mlflow server` on loopback, as a team runs it (SQLite backend, local artifacts)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def mlflow_server(root: Path) -> Iterator[str]:
    """Start a tracking server with its store under `root`; yield its URL; stop it."""
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    command = [
        str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
        "--default-artifact-root", str(root / "artifacts"),
    ]  # fmt: skip
    with (root / "server.log").open("w") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "HOME": str(root)}
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process, root)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_healthy(url: str, process: "subprocess.Popen[bytes]", root: Path) -> None:
    for _ in range(240):
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError((root / "server.log").read_text()[-2000:]) from None
            time.sleep(0.25)
    raise RuntimeError("mlflow server did not start in 60 s")
