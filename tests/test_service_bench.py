"""`lotsen bench serve`, tiny: every session answered, every scheduled scan run, no error."""

from pathlib import Path

import pytest

from lotsen.bench.serve import bench_serve
from memory.threads import THREADS_FILE
from tests.support.cli import run_lotsen
from world.settings import Settings


def test_a_tiny_load_run_has_no_errors(full_world: Path) -> None:
    before = sorted(p.name for p in (full_world / "state").iterdir())
    result = bench_serve(
        Settings(data_dir=full_world), sessions=3, scan_every_s=0.5, duration_s=1.5
    )
    assert result.chat.errors == 0 and result.scans.errors == 0, result.error_samples
    assert result.chat.count >= 3, "each session asks at least once"
    assert result.scans.count == 3, "a scan at 0, 0.5 and 1.0 s"
    assert 0 < result.chat.p50_s <= result.chat.p95_s <= result.chat.max_s
    after = sorted(p.name for p in (full_world / "state").iterdir())
    assert after == before and THREADS_FILE not in after, "the bench ran on a copy"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sessions", "0"], "--sessions must be at least 1"),
        (["--duration", "nan"], "--duration"),
        (["--scan-every", "0"], "--scan-every"),
    ],
)
def test_bad_bench_options_are_one_line(
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = run_lotsen(
        capsys, monkeypatch, "--data-dir", str(tmp_path), "bench", "serve", *args
    )
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
