"""The capability registry file: learning, priors, schema, stale flag."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agents.router.registry import CapabilityRegistry, Outcome, TierInfo, learn
from tools.errors import ConfigError

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def measured() -> CapabilityRegistry:
    rows = [
        Outcome(
            case=f"c{i}",
            task_class="capacity/plan",
            tier="small",
            passed=i < 9,
            input_tokens=1000,
            output_tokens=100,
            cost=0.002,
            latency_s=1.5,
        )
        for i in range(10)
    ]
    return learn(rows, [TierInfo(name="tier0"), TierInfo(name="small")], sources=["run-1"], now=NOW)


def test_learn_measures_success_interval_tokens_cost_latency() -> None:
    entry = measured().entry("capacity/plan", "small")
    assert (entry.source, entry.trials, entry.successes, entry.success) == ("measured", 10, 9, 0.9)
    assert entry.ci_low < 0.9 < entry.ci_high
    assert (entry.mean_tokens, entry.mean_latency_s) == (1100, 1.5)
    assert entry.mean_cost == pytest.approx(0.002)


def test_unmeasured_pairs_get_a_wide_prior() -> None:
    reg = measured()
    prior = reg.entry("monitor/diagnose", "small")
    assert prior.source == "prior"
    assert prior.ci_high - prior.ci_low > 0.4
    assert reg.entry("monitor/diagnose", "tier0").success < prior.success


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_registry_round_trips_with_its_schema(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"registry{suffix}"
    measured().save(path)
    assert "lotsen.router.registry/1" in path.read_text()
    assert CapabilityRegistry.load(path) == measured()


def test_stale_flag_follows_the_age() -> None:
    reg = measured()
    assert not reg.is_stale(NOW + timedelta(days=29))
    assert reg.is_stale(NOW + timedelta(days=31))


def test_a_foreign_or_broken_file_is_one_clear_error(tmp_path: Path) -> None:
    foreign = tmp_path / "other.yaml"
    foreign.write_text("schema: something/else\n")
    with pytest.raises(ConfigError, match="is not a router registry"):
        CapabilityRegistry.load(foreign)
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema: lotsen.router.registry/1\nentries: [{tier: 1}]\n")
    with pytest.raises(ConfigError, match="entries"):
        CapabilityRegistry.load(broken)
    with pytest.raises(ConfigError, match="does not exist"):
        CapabilityRegistry.load(tmp_path / "missing.yaml")


def test_the_shipped_registry_loads_and_names_its_source() -> None:
    import agents.router

    reg = CapabilityRegistry.load(Path(agents.router.__file__).with_name("registry.yaml"))
    assert [t.name for t in reg.tiers] == ["tier0", "small", "large"]
    assert reg.entries and all(e.source == "measured" for e in reg.entries)
    assert "simulated LLM tiers" in reg.sources[0]
