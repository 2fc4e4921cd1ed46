"""Periods as policies read them: ISO-8601 durations and the usual shorthands.

`P30D`, `P1Y`, `PT720H`, `P1Y6M`, `P2W` (ISO 8601), and shorthands such as `30d`,
`90 days`, `6 months`, `1y`, `1 year 6 months`, `720h`; a bare number is days (the
tags' historical unit). Calendar units are converted at their mean length (a year is
365.2425 days, a month a twelfth of that), so `P6M` is 182.6 days and `P1Y` is at least
365 days. A lone `m` is refused as ambiguous (months or minutes?): unknown is never guessed.
"""

import math
import re
from datetime import timedelta
from typing import Any

from tools.errors import ConfigError

YEAR_DAYS = 365.2425
MONTH_DAYS = YEAR_DAYS / 12
_DAY_S = 86_400.0

_ISO = re.compile(
    r"^P(?!$)(?:(?P<Y>\d+(?:[.,]\d+)?)Y)?(?:(?P<M>\d+(?:[.,]\d+)?)M)?(?:(?P<W>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<D>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<m>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)
_ISO_SECONDS = {
    "Y": YEAR_DAYS * _DAY_S,
    "M": MONTH_DAYS * _DAY_S,
    "W": 7 * _DAY_S,
    "D": _DAY_S,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
}
_UNITS: dict[str, float] = {
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), YEAR_DAYS * _DAY_S),
    **dict.fromkeys(("mo", "mon", "mos", "month", "months"), MONTH_DAYS * _DAY_S),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 7 * _DAY_S),
    **dict.fromkeys(("d", "day", "days"), _DAY_S),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


class DurationError(ConfigError):
    """A period that is not an ISO-8601 duration, a known shorthand or a number of days."""


def parse_duration(text: str) -> timedelta:
    """A period as a timedelta.

    Args:
        text: `P1Y6M`, `PT720H`, `30d`, `6 months`, `1 year 6 months`, `183` (days), ...

    Returns:
        The period (calendar units at their mean length).

    Raises:
        DurationError: empty, negative, ambiguous (`6m`) or not a period at all.
    """
    raw = text.strip()
    if not raw:
        raise DurationError("no period given")
    seconds = _iso_seconds(raw) if raw[:1] in "Pp" else _shorthand_seconds(raw)
    if seconds is None:
        raise DurationError(
            f"{text!r} is not a period: use ISO 8601 (P30D, P1Y6M, PT720H) or e.g. "
            "'30d', '6 months', '1y'"
        )
    if not math.isfinite(seconds) or seconds > 1000 * YEAR_DAYS * _DAY_S:
        raise DurationError(f"{text!r} is not a plausible period")
    return timedelta(seconds=seconds)


def _iso_seconds(raw: str) -> float | None:
    match = _ISO.match(raw.upper())
    if match is None:
        return None
    return sum(
        float(value.replace(",", ".")) * _ISO_SECONDS[unit]
        for unit, value in match.groupdict().items()
        if value is not None
    )


def _shorthand_seconds(raw: str) -> float | None:
    lowered = raw.lower().replace(",", " ")
    if re.fullmatch(r"\d+(?:\.\d+)?", lowered):
        return float(lowered) * _DAY_S
    lowered = re.sub(r"\band\b", " ", lowered)
    parts = _PART.findall(lowered)
    if not parts or _PART.sub("", lowered).strip():
        return None
    total = 0.0
    for number, unit in parts:
        if unit == "m":
            raise DurationError(f"{raw!r}: 'm' is ambiguous (months or minutes?); write 'mo'")
        if unit not in _UNITS:
            return None
        total += float(number) * _UNITS[unit]
    return total


def describe(period: timedelta) -> str:
    """A period in days for messages (`182.6 days`, `365 days`)."""
    days = period.total_seconds() / _DAY_S
    return f"{days:.0f} days" if abs(days - round(days)) < 0.05 else f"{days:.1f} days"


def period_param(params: dict[str, Any], name: str, default: str) -> timedelta:
    """A policy's period parameter: `name` as a duration, or legacy `name_days` as days.

    Args:
        params: The policy's params.
        name: Parameter name, e.g. `min_retention` (also read as `min_retention_days`).
        default: Used when neither is set (a duration string).

    Raises:
        DurationError: the parameter is not a period.
    """
    if name in params:
        return parse_duration(str(params[name]))
    if f"{name}_days" in params:
        return parse_duration(str(params[f"{name}_days"]))
    return parse_duration(default)
