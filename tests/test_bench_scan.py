"""`lotsen bench scan` measures a written fleet end to end in a child process."""

import pytest

from lotsen.bench.scan import bench_scan

pytestmark = pytest.mark.slow


def test_the_scan_bench_measures_first_and_second_scans_of_its_fleet() -> None:
    (timing,) = bench_scan([300])
    assert (timing.models, timing.features, timing.rows) == (300, 30, 9000)
    assert 0 < timing.flagged < 300  # 2% of feature rows drifted: some models, not all
    assert timing.scan_s > 0 and timing.second_scan_s > 0 and timing.read_once_s > 0
    assert timing.ray is None  # the local engine only
