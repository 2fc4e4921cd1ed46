"""The scan benchmark's peak memory is the measuring process's own, not its parent's."""

import subprocess
import sys
from pathlib import Path

import pytest

from lotsen.bench.scan import peak_rss_kb

PARENT_MB = 600
"""What the parent holds when it starts the measuring child (the fleet generator did 4.2 GB)."""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_a_child_started_by_a_big_parent_reports_its_own_peak() -> None:
    held = bytearray(PARENT_MB * 2**20)
    for page in range(0, len(held), 4096):
        held[page] = 1  # resident, not just reserved
    assert peak_rss_kb() / 1024 >= PARENT_MB
    child = subprocess.run(
        [sys.executable, "-c", "from lotsen.bench.scan import peak_rss_kb; print(peak_rss_kb())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(child.stdout) / 1024 < PARENT_MB / 2
    del held
