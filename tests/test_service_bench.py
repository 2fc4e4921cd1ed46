"""`lotsen bench serve`, tiny: every session answered, every scheduled scan run, no error."""

from pathlib import Path

from lotsen.bench.serve import bench_serve
from memory.threads import THREADS_FILE
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
