"""Prices, carbon intensity and energy: what a GPU-hour costs in money and in CO2e.

The carbon-intensity curve gives gCO2e per kWh for each hour of the day (UTC, the clock of
the cluster). The shipped default is a typical day on a grid with solar and wind: dirtiest
in the evening peak, cleanest around midday. Point `LOTSEN_CARBON_CURVE_FILE` at a YAML
file with your grid's curve (24 numbers, or a mapping hour -> number).
"""

import math
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.domain import GPU_CATALOGUE, GpuType
from tools.domain.gpus import gpu_power
from tools.errors import ConfigError
from tools.yamlfile import read_text, yaml_problem

JOULES_PER_KWH = 3.6e6
HOURS_PER_DAY = 24

DEFAULT_CARBON_CURVE: tuple[float, ...] = (
    # 00-05: night, wind and base load
    310, 300, 290, 285, 290, 315,
    # 06-11: morning ramp, then solar comes in
    360, 390, 370, 320, 250, 190,
    # 12-17: solar peak and decline
    150, 145, 165, 215, 285, 350,
    # 18-23: evening peak, then falling
    410, 420, 395, 365, 340, 320,
)  # fmt: skip
"""gCO2e/kWh per hour of day (UTC)."""

DEFAULT_GPU_HOUR_PRICE: dict[GpuType, float] = {
    GpuType.H100: 2.50,
    GpuType.A100: 1.60,
    GpuType.L4: 0.45,
}
"""Price of one whole GPU for one hour (currency units, e.g. EUR)."""


def parse_gpu_type(name: str) -> GpuType:
    """The GPU type called `name` (e.g. `H100-80GB`, or just `H100`).

    Raises:
        ConfigError: no known GPU type has that name.
    """
    for gpu in GpuType:
        if name.lower() in (gpu.value.lower(), gpu.value.split("-")[0].lower(), gpu.name.lower()):
            return gpu
    known = ", ".join(g.value for g in GpuType)
    raise ConfigError(f"unknown GPU type {name!r}; known: {known}")


class CarbonCurve(BaseModel):
    """Grid carbon intensity by hour of day."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    g_per_kwh: tuple[float, ...] = Field(default=DEFAULT_CARBON_CURVE)
    """24 values, gCO2e per kWh, for hours 0..23 UTC."""

    @field_validator("g_per_kwh")
    @classmethod
    def _one_per_hour(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != HOURS_PER_DAY or not all(math.isfinite(v) and v >= 0 for v in value):
            raise ValueError(
                f"needs 24 finite non-negative values (one per hour), got {len(value)}"
            )
        return value

    def at(self, when: datetime) -> float:
        """Intensity in the hour that contains `when`."""
        return self.g_per_kwh[when.hour]

    def mean(self) -> float:
        """Daily average intensity."""
        return sum(self.g_per_kwh) / HOURS_PER_DAY

    def average_over(self, start: datetime, hours: float) -> float:
        """Time-weighted intensity over [start, start + hours)."""
        if hours <= 0:
            return self.at(start)
        total, left, at = 0.0, hours, start
        while left > 1e-9:
            next_hour = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            step = min(left, (next_hour - at).total_seconds() / 3600)
            total += self.at(at) * step
            left -= step
            at = next_hour
        return total / hours


def load_carbon_curve(path: Path | None) -> CarbonCurve:
    """The curve in a YAML file (24 numbers, or `{hour: value}` for all 24 hours), or the default.

    Raises:
        ConfigError: unreadable file, not YAML, or not 24 non-negative numbers.
    """
    if path is None:
        return CarbonCurve()
    text = read_text(path, what="LOTSEN_CARBON_CURVE_FILE")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML ({yaml_problem(exc)})") from None
    if isinstance(data, dict):
        try:
            data = [data[h] for h in range(HOURS_PER_DAY)]
        except KeyError as exc:
            raise ConfigError(f"{path}: the carbon curve has no value for hour {exc}") from None
    try:
        return CarbonCurve(g_per_kwh=tuple(data) if isinstance(data, list) else data)
    except ValueError as exc:
        raise ConfigError(
            f"{path}: a carbon curve needs 24 non-negative gCO2e/kWh values (finite numbers), "
            "one per hour"
        ) from exc


class CapacityConfig(BaseModel):
    """What the capacity planner prices and judges by (from Settings)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    gpu_hour_price: dict[GpuType, float] = Field(
        default_factory=lambda: dict(DEFAULT_GPU_HOUR_PRICE)
    )
    """Price of one whole GPU-hour per GPU type."""
    carbon: CarbonCurve = Field(default_factory=CarbonCurve)
    idle_days: float = Field(default=7.0, gt=0)
    """Days without a request after which a deployment with replicas is idle and a
    scale-to-zero candidate (the one rule: `tools.capacity.idle.is_idle`)."""
    target_utilisation: float = Field(default=0.7, gt=0, le=1)
    """Right-sizing aims for at most this busy fraction on the smaller slot."""
    retrain_deadline_hours: float = Field(default=24.0, gt=0)
    """A queued job without a deadline must finish within this many hours of submission."""
    schedule_horizon_hours: float = Field(default=168.0, gt=0)
    """Planning horizon for scheduled work: a deployment a CronJob run calls within it is
    never scaled to zero, and the capacity its runs hold is reported as reserved."""

    def price(self, gpu: GpuType) -> float:
        """Price per whole GPU-hour.

        Raises:
            ConfigError: no price is configured for this GPU type.
        """
        try:
            return self.gpu_hour_price[gpu]
        except KeyError:
            raise ConfigError(
                f"no price per GPU-hour for {gpu}; add it to LOTSEN_GPU_HOUR_PRICE"
            ) from None


def slot_power_w(gpu: GpuType, equivalents: float, utilisation: float) -> float:
    """Watts attributable to a slot: its share of idle draw plus its busy draw."""
    spec = GPU_CATALOGUE[gpu]
    return equivalents * gpu_power(spec, utilisation)


def kwh(watts: float, hours: float) -> float:
    """Energy in kWh of a constant draw."""
    return watts * hours / 1000


def joules_per_1k_inferences(watts: float, requests_per_s: float) -> float | None:
    """Energy per 1,000 requests at a constant draw; None without traffic."""
    if requests_per_s <= 0:
        return None
    return watts / requests_per_s * 1000
