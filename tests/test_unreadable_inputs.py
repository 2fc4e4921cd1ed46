"""Binary or non-UTF-8 input is a one-line error, never a UnicodeDecodeError traceback."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.cli import run_lotsen as lotsen
from tools.errors import BackendUnavailableError
from tools.vllm_metrics import parse_vllm_metrics, read_vllm_metrics

BINARY = bytes(range(256)) * 4


def test_eval_report_on_a_binary_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results.json"
    results.write_bytes(b"\xff\xfe" + BINARY)
    for command in (
        ("eval", "report", str(results)),
        ("eval", "compare", str(tmp_path), str(results)),
    ):
        code, _, err = lotsen(capsys, monkeypatch, *command)
        assert code == 2, err
        reason = "(file: Invalid JSON: expected value at line 1 column 1)"
        assert err.strip() == f"error: {results} is not a Lotsen eval result {reason}"
        assert "Traceback" not in err and "UnicodeDecodeError" not in err
    assert not (tmp_path / "report.html").exists()


def test_vllm_metrics_text_that_is_not_utf8_or_not_prometheus() -> None:
    with pytest.raises(BackendUnavailableError, match=r"^metrics is not UTF-8 text \(byte 128\)"):
        parse_vllm_metrics(BINARY)
    with pytest.raises(BackendUnavailableError, match="is not Prometheus metrics text"):
        parse_vllm_metrics("<html>not metrics</html> here\n")
    assert parse_vllm_metrics(b"vllm:num_requests_running 3\n").requests_running == 3.0


class _Binary(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(b"vllm:num_requests_running 1\n\xc3\x28\xa0\xa1\n")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def binary_server() -> Iterator[str]:
    """A /metrics endpoint (free port) that answers with invalid UTF-8."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Binary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_llm_metrics_cli_on_non_utf8_is_one_line(
    binary_server: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BackendUnavailableError, match="not UTF-8 text"):
        read_vllm_metrics(binary_server)
    code, _, err = lotsen(capsys, monkeypatch, "llm", "metrics", binary_server)
    assert code != 0
    assert (
        err.strip()
        == f"error: {binary_server} is not UTF-8 text (byte 28): not a vLLM /metrics endpoint?"
    )
