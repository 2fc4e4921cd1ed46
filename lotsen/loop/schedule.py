"""When each model is due for a scheduled scan (on the world's clock).

A model's interval comes from its class (its env tag; a model without a valid env tag counts
as prod, the strictest class) and is shortened by a watch the remediation workflow put it
on ("drift with healthy performance: scan every 1 h"). Pure functions: the loop passes in
the models, the watch list, the last scans and the clock.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from tools.domain import Environment, RegisteredModel

UNTAGGED = Environment.PROD
"""The class of a model without a valid env tag: unknown means strictest."""


def model_class(model: RegisteredModel) -> Environment:
    """The model's scan class: its environment, prod when the tag is missing or unknown."""
    return model.env or UNTAGGED


def intervals(
    models: Iterable[RegisteredModel],
    every_hours: Mapping[Environment, float],
    watched: Mapping[str, float],
) -> dict[str, timedelta]:
    """Model -> how often it is scanned: its class's interval, or its watch's if shorter.

    A class missing from `every_hours` gets the prod interval (or the shortest configured).
    """
    fallback = every_hours.get(UNTAGGED, min(every_hours.values(), default=1.0))
    out = {}
    for m in models:
        hours = every_hours.get(model_class(m), fallback)
        if m.name in watched:
            hours = min(hours, watched[m.name])
        out[m.name] = timedelta(hours=hours)
    return out


def due(every: Mapping[str, timedelta], last: Mapping[str, datetime], now: datetime) -> list[str]:
    """Models whose interval has passed since their last scan (never scanned: due).

    A last scan later than `now` (the twin was reset to its seed, moving the clock back)
    does not postpone the model: it is due.
    """
    out = []
    for name, interval in sorted(every.items()):
        seen = last.get(name)
        if seen is None or seen > now or now - seen >= interval:
            out.append(name)
    return out


def next_due(
    every: Mapping[str, timedelta], last: Mapping[str, datetime], now: datetime
) -> datetime | None:
    """When the next model falls due (now if one is due already; None: no models)."""
    times = [
        now if (seen := last.get(n)) is None or seen > now else seen + interval
        for n, interval in every.items()
    ]
    return min(times, default=None)
