"""A scan streamed in blocks (name ranges or hash partitions) equals one pass over the fleet."""

import pytest

from tests.support.telemetry_fleets import simulate_fleet
from tools.drift.batch import load_batch
from tools.drift.engine import DriftConfig, scan, with_fdr_cutoff
from tools.drift.signals import ModelSignals
from tools.drift.stream import Block, blocks, model_names, scan_blocks, scan_store, stream_scan
from tools.telemetry.store import TelemetryStore


@pytest.fixture(scope="module")
def store() -> TelemetryStore:
    telemetry = TelemetryStore(":memory:")
    # small references: KS / chi-squared, so the FDR cutoff matters
    simulate_fleet(telemetry, 40, 3)
    return telemetry


def dump(signals: list[ModelSignals]) -> list[dict[str, object]]:
    return [s.model_dump() for s in signals]


@pytest.mark.parametrize("detail", [False, True])
def test_blocks_of_models_give_the_single_pass_result(store: TelemetryStore, detail: bool) -> None:
    expected = scan(load_batch(store), detail=detail)
    assert any(s.dq_issues for s in expected) and any(s.drifted_features for s in expected)
    assert 0 < expected[0].p_cutoff < 1  # the scan-wide cutoff is in play
    for size in (1, 7, 1000):
        assert dump(scan_store(store, block_models=size, detail=detail)) == dump(expected)


def test_hash_partitions_give_the_single_pass_result(store: TelemetryStore) -> None:
    expected = scan(load_batch(store))
    config = DriftConfig()
    parts = [Block(part=p, parts=3) for p in range(3)]
    found, p_values = scan_blocks(store, parts, config)
    assert len({s.model for s in found}) == len(found)
    merged = with_fdr_cutoff(sorted(found, key=lambda s: s.model), p_values, config)
    assert dump(merged) == dump(expected)


def test_an_earlier_window_streams_like_it_loads(store: TelemetryStore) -> None:
    first = store.db.execute("SELECT min(window_start) FROM windows").fetchall()[0][0]
    expected = scan(load_batch(store, first), detail=True)
    assert expected and expected[0].window_start == first
    streamed = scan_store(store, window_start=first, block_models=5, detail=True)
    assert dump(streamed) == dump(expected)


def test_blocks_cover_the_sorted_names_once(store: TelemetryStore) -> None:
    names = model_names(store)
    assert names == sorted(names) and len(names) == 40
    ranges = list(blocks(names, 16))
    assert [(b.first, b.last) for b in ranges] == [
        (names[0], names[15]),
        (names[16], names[31]),
        (names[32], names[39]),
    ]


@pytest.fixture
def shuffled_store() -> TelemetryStore:
    """A store whose window rows need matching: out of order, some absent, some unknown."""
    telemetry = TelemetryStore(":memory:")
    simulate_fleet(telemetry, 12, 5)
    db = telemetry.db
    db.execute("CREATE TEMP TABLE kept AS SELECT * FROM window_bins")
    db.execute("DELETE FROM window_bins")
    # every third model loses one feature's window row; rows come back in reverse order
    db.execute(
        """INSERT INTO window_bins SELECT * FROM kept
        WHERE NOT (hash(model) % 3 = 0 AND feature = (SELECT min(feature) FROM kept))
        ORDER BY model DESC, feature DESC"""
    )
    # and one model's window has a column its reference does not know
    db.execute(
        """INSERT INTO window_bins SELECT model, window_start, 'not_in_reference', counts, sums,
        n, nulls, invalid, missing, type_mismatch FROM kept
        WHERE model = (SELECT min(model) FROM kept) AND feature = (SELECT max(feature) FROM kept)"""
    )
    return telemetry


@pytest.mark.parametrize("detail", [False, True])
def test_window_rows_are_matched_to_reference_rows_by_model_and_feature(
    shuffled_store: TelemetryStore, detail: bool
) -> None:
    expected = scan(load_batch(shuffled_store), detail=detail)
    absent = [
        issue
        for s in expected
        for issue in s.dq_issues
        if issue.kind == "missing_feature" and issue.feature == "f00"
    ]
    assert absent  # the deleted rows read as missing columns
    for size in (1, 5, 1000):
        streamed = scan_store(shuffled_store, block_models=size, detail=detail)
        assert dump(streamed) == dump(expected)


def test_a_streamed_scan_counts_what_it_read(store: TelemetryStore) -> None:
    batch = load_batch(store)
    for size in (1, 7, 1000):
        scanned = stream_scan(store, block_models=size)
        assert scanned.models == len(batch.models.model) == 40
        assert scanned.feature_rows == batch.features.rows
        assert scanned.p_values.size > 0
