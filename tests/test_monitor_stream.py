"""The monitor's fleet scan streams blocks of models and finds what the whole-fleet load finds."""

from pathlib import Path

import pytest

from tests.support.worlds import opened_copy
from tools.drift.batch import load_batch
from tools.drift.engine import scan
from tools.drift.incidents import group_incidents
from tools.drift.seasonal import apply_seasonal, seasonal_choices
from tools.drift.segments import segment_drops, segment_incidents
from world.monitoring import scan_fleet

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("detail", [False, True])
def test_scan_fleet_reports_the_whole_fleet_load(
    remediation_seed: Path, tmp_path: Path, detail: bool
) -> None:
    with opened_copy(remediation_seed, tmp_path) as world:
        report = scan_fleet(world, detail=detail, record=False)
        store = world.telemetry
        batch = load_batch(store)
        expected = scan(batch, detail=detail)
        seasons = seasonal_choices(expected, lambda name: world.registry.get_model(name).tags)
        expected = apply_seasonal(store, expected, seasons)
        incidents = group_incidents([s for s in expected if s.anomalous])
        incidents += segment_incidents(segment_drops(store, expected))
    assert (report.models, report.features) == (len(batch.models.model), batch.features.rows)
    assert report.models == 160 and report.features > report.models
    assert [s.model_dump() for s in report.signals] == [s.model_dump() for s in expected]
    assert incidents and [i.model_dump() for i in report.incidents] == [
        i.model_dump() for i in incidents
    ]
