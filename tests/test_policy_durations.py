"""Periods in policies: ISO-8601 durations and shorthands, and findings that name every subject."""

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.cli import shared_data_dir
from tools.cluster.sim import SimCluster
from tools.domain import Environment
from tools.policy import tags
from tools.policy.durations import (
    MONTH_DAYS,
    YEAR_DAYS,
    DurationError,
    parse_duration,
    period_param,
)
from tools.policy.evaluate import scan_compliance
from tools.policy.gaps import inject_gap
from tools.registry.mlflow_registry import MlflowRegistry
from world.settings import Settings
from world.world import World

HIGH_RISK_PROD = "fraud-0004"
"""In the 30-model seed-3 fleet: prod, high-risk (as in tests/test_compliance.py)."""
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("P30D", 30),
        ("p30d", 30),
        ("P1Y", YEAR_DAYS),
        ("PT720H", 30),
        ("P1Y6M", YEAR_DAYS + 6 * MONTH_DAYS),
        ("P2W", 14),
        ("P1DT12H", 1.5),
        ("P0.5Y", YEAR_DAYS / 2),
        ("30d", 30),
        ("30 d", 30),
        ("90 days", 90),
        ("6 months", 6 * MONTH_DAYS),
        ("6mo", 6 * MONTH_DAYS),
        ("1y", YEAR_DAYS),
        ("1 year 6 months", YEAR_DAYS + 6 * MONTH_DAYS),
        ("1 year and 6 months", YEAR_DAYS + 6 * MONTH_DAYS),
        ("720h", 30),
        ("183", 183),
        ("  183 ", 183),
        ("2 Weeks", 14),
    ],
)
def test_known_periods(text: str, days: float) -> None:
    assert parse_duration(text).total_seconds() == pytest.approx(days * 86400, abs=1e-3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no period given"),
        ("P", "is not a period"),
        ("PT", "is not a period"),
        ("P1YT", "is not a period"),
        ("-30d", "is not a period"),
        ("thirty days", "is not a period"),
        ("30 fortnights", "is not a period"),
        ("6m", "ambiguous"),
        ("1y6m", "ambiguous"),
        ("P99999Y", "not a plausible period"),
        ("forever", "is not a period"),
    ],
)
def test_bad_periods_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(DurationError, match=message) as caught:
        parse_duration(text)
    assert "\n" not in str(caught.value)


UNITS = {"Y": YEAR_DAYS, "M": MONTH_DAYS, "W": 7.0, "D": 1.0}
SHORT = {"y": YEAR_DAYS, "months": MONTH_DAYS, "w": 7.0, "days": 1.0, "h": 1 / 24}


@given(st.dictionaries(st.sampled_from(list(UNITS)), st.integers(0, 400), min_size=1))
def test_iso_date_parts_add_up(parts: dict[str, int]) -> None:
    text = "P" + "".join(f"{parts[u]}{u}" for u in UNITS if u in parts)
    expected = sum(n * UNITS[u] for u, n in parts.items())
    assert parse_duration(text).total_seconds() == pytest.approx(expected * 86400, abs=1e-3)


@given(st.integers(0, 100_000), st.integers(0, 59), st.integers(0, 59))
def test_iso_time_parts_equal_their_seconds(hours: int, minutes: int, seconds: int) -> None:
    text = f"PT{hours}H{minutes}M{seconds}S"
    assert parse_duration(text) == timedelta(hours=hours, minutes=minutes, seconds=seconds)


@given(st.dictionaries(st.sampled_from(list(SHORT)), st.integers(0, 300), min_size=1))
def test_shorthand_equals_its_iso_twin(parts: dict[str, int]) -> None:
    text = " ".join(f"{n} {u}" for u, n in parts.items())
    expected = sum(n * SHORT[u] for u, n in parts.items())
    assert parse_duration(text).total_seconds() == pytest.approx(expected * 86400, abs=1e-3)


@given(st.integers(0, 300_000))
def test_a_bare_number_is_days_and_equals_pnd(days: int) -> None:
    assert parse_duration(str(days)) == parse_duration(f"P{days}D") == days * DAY


@given(st.text(max_size=20))
def test_any_text_parses_or_is_a_duration_error(text: str) -> None:
    try:
        period = parse_duration(text)
    except DurationError as exc:
        assert "\n" not in str(exc) or "\n" in text
    else:
        assert period >= timedelta(0)


def test_period_params_read_durations_and_legacy_days() -> None:
    assert period_param({"min_retention": "P6M"}, "min_retention", "P1D") > 182 * DAY
    assert period_param({"min_retention_days": 400}, "min_retention", "P1D") == 400 * DAY
    assert period_param({}, "min_retention", "P1Y") > 365 * DAY


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_data_dir(tmp_path_factory, models=30, seed=3)


@pytest.fixture
def platform(seeded: Path, tmp_path: Path) -> Iterator[tuple[MlflowRegistry, SimCluster]]:
    copy = tmp_path / "data"
    shutil.copytree(seeded, copy, symlinks=True)
    with World(Settings(data_dir=copy)) as world:
        cluster = world.cluster
        assert isinstance(cluster, SimCluster)
        yield world.registry, cluster


@pytest.mark.parametrize(
    ("retention", "finding"),
    [
        ("P1Y", None),
        ("PT4400H", None),
        ("6 months", None),
        ("1y", None),
        ("183", None),
        ("365 days", None),
        ("P1Y6M", None),
        ("90 days", "logs kept 90 days (90 days), less than 182.6 days"),
        ("P3M", "logs kept P3M (91.3 days), less than 182.6 days"),
        ("180d", "logs kept 180d (180 days), less than 182.6 days"),
        ("6m", "log retention is not documented: '6m': 'm' is ambiguous"),
        ("a while", "log retention is not documented: 'a while' is not a period"),
    ],
)
def test_retention_documented_as_a_period(
    platform: tuple[MlflowRegistry, SimCluster], retention: str, finding: str | None
) -> None:
    registry, cluster = platform
    registry.set_model_tag(HIGH_RISK_PROD, tags.LOG_RETENTION_DAYS, retention)
    found = [
        f
        for f in scan_compliance(registry, cluster, about=HIGH_RISK_PROD).failures()
        if f.policy_id == "AIA-01"
    ]
    if finding is None:
        assert found == []
    else:
        assert [f.subject for f in found] == [HIGH_RISK_PROD]
        assert found[0].message.startswith(finding)


def test_cross_environment_time_slicing_names_the_namespaces(
    platform: tuple[MlflowRegistry, SimCluster],
) -> None:
    registry, cluster = platform
    test_ns = next(ns.name for ns in cluster.namespaces() if ns.env is Environment.TEST)
    inject_gap("time_sliced_cross_env", test_ns, registry, cluster)
    found = [f for f in scan_compliance(registry, cluster).failures() if f.policy_id == "SEG-06"]
    assert len(found) == 1
    node, gpu = found[0].subject.split("/gpu")
    shared = next(
        g for g in next(n for n in cluster.nodes() if n.name == node).gpus if g.index == int(gpu)
    )
    occupants = {s.occupant.namespace for s in shared.slots if s.occupant}
    assert test_ns in occupants and len(occupants) >= 2
    for namespace in occupants:
        assert namespace in found[0].message
    assert "dev" in found[0].message and "test" in found[0].message
