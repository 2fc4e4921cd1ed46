"""Seasonal references: compare a window with past windows at the same weekday / hour band.

Chosen per model by the registry tag `drift_reference` (documented in the tag contract):

- absent or `plain`: the model version's stored reference (the default);
- `seasonal`: past windows of the same weekday (UTC);
- `seasonal: same_weekday, hour_band=4`: past windows of the same weekday whose start falls
  in the same 4-hour band of the day; `seasonal: hour_band=4` the same band on any day.

The seasonal reference of a model's newest window is the sum of the histograms of its past
windows that match (they share the reference's bins, so they add up). A normal weekly or
daily pattern then matches its own past and is not drift; a real shift on top of it still is.
With fewer than `MIN_WINDOWS` matching past windows the plain result stands (a new model has
no season yet).

Only models the plain scan found drifting are re-tested (their tags are read from the
registry then), so a fleet scan pays nothing for the rest. A seasonal pattern that hides a
real shift from the plain reference (the two cancel out) is not caught: known limit.
"""

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from tools.drift.histcompare import compare
from tools.drift.signals import ModelSignals
from tools.errors import ConfigError, NotFoundError
from tools.telemetry.store import TelemetryStore

logger = logging.getLogger(__name__)
REFERENCE_TAG = "drift_reference"
MIN_WINDOWS = 2
"""Matching past windows a seasonal reference needs (fewer: the plain reference is used)."""


class SeasonalReference(BaseModel):
    """Which past windows make a window's reference."""

    same_weekday: bool = True
    hour_band_h: int | None = Field(default=None, ge=1, le=24)
    """Width of the hour band in hours (None: any hour)."""

    def matches(self, past: datetime, current: datetime) -> bool:
        """Whether `past` is in the same season as `current` (UTC)."""
        p, c = past.astimezone(UTC), current.astimezone(UTC)
        if self.same_weekday and p.weekday() != c.weekday():
            return False
        band = self.hour_band_h
        return band is None or p.hour // band == c.hour // band


def parse_reference(text: str) -> SeasonalReference | None:
    """The reference a `drift_reference` tag chooses (None: plain).

    Raises:
        ConfigError: an unknown choice or option, in one line.
    """
    head, _, options = text.strip().partition(":")
    if head.strip().lower() in ("", "plain"):
        return None
    if head.strip().lower() != "seasonal":
        raise ConfigError(f"drift_reference {text!r}: expected plain or seasonal[: options]")
    parts = [p.strip().lower() for p in options.split(",") if p.strip()]
    if not parts:
        return SeasonalReference()
    weekday, band = False, None
    for part in parts:
        key, _, value = part.partition("=")
        if key.strip() == "same_weekday":
            weekday = True
        elif key.strip() == "hour_band" and value.strip().isdigit():
            band = int(value)
        else:
            raise ConfigError(
                f"drift_reference {text!r}: unknown option {part!r} "
                "(same_weekday, hour_band=<hours>)"
            )
    if band is not None and not 1 <= band <= 24:
        raise ConfigError(f"drift_reference {text!r}: hour_band must be 1-24 hours")
    return SeasonalReference(same_weekday=weekday, hour_band_h=band)


def seasonal_choices(
    signals: list[ModelSignals], tags_of: Callable[[str], Mapping[str, str]]
) -> dict[str, SeasonalReference]:
    """The seasonal references of the drifting models among `signals`, from their tags.

    A model unknown to the registry, or with a malformed tag, keeps the plain reference (the
    tag's error is logged): one bad tag must not stop a fleet scan.
    """
    out = {}
    for s in signals:
        if not s.drifted_features:
            continue
        try:
            choice = parse_reference(tags_of(s.model).get(REFERENCE_TAG, ""))
        except NotFoundError:
            continue
        except ConfigError as exc:
            logger.warning("%s: %s; using the plain reference", s.model, exc)
            continue
        if choice is not None:
            out[s.model] = choice
    return out


def apply_seasonal(
    store: TelemetryStore, signals: list[ModelSignals], choices: dict[str, SeasonalReference]
) -> list[ModelSignals]:
    """Re-test the drift of the models with a seasonal reference against their season.

    A model whose season has too few past windows keeps its plain result.
    """
    for s in signals:
        season = choices.get(s.model)
        if season is not None:
            _retest(store, s, season)
    return signals


def _retest(store: TelemetryStore, s: ModelSignals, season: SeasonalReference) -> None:
    rows = store.db.execute(
        "SELECT window_start, feature, counts, sums FROM window_bins WHERE model = ? "
        "AND window_start <= ? AND NOT missing ORDER BY window_start",
        [s.model, s.window_start],
    ).fetchall()
    past: dict[str, tuple[list[float], list[float]]] = {}
    current: dict[str, tuple[list[float], list[float]]] = {}
    starts: set[datetime] = set()
    for start, feature, counts, sums in rows:
        if start == s.window_start:
            current[feature] = (list(counts), list(sums))
        elif season.matches(start, s.window_start):
            starts.add(start)
            base = past.get(feature)
            past[feature] = (
                (list(counts), list(sums))
                if base is None
                else (_add(base[0], counts), _add(base[1], sums))
            )
    if len(starts) < MIN_WINDOWS:
        return
    refs = {r.feature: r for r in store.references(s.model)}
    tested = []
    for feature, (counts, sums) in sorted(current.items()):
        ref, base = refs.get(feature), past.get(feature)
        if ref is None or base is None:
            continue
        signal = compare(ref, base[0], base[1], counts, sums)
        if signal is not None:
            tested.append(signal)
    s.features = tested
    s.drifted_features = [f.feature for f in tested if f.drifted]
    s.drift_share = len(s.drifted_features) / max(len(tested), 1)
    s.dataset_drift = s.drift_share >= 0.5


def _add(a: list[float], b: list[float]) -> list[float]:
    return [x + y for x, y in zip(a, b, strict=True)]
