"""Whether rows are fit to become a model's reference (what every later window is compared to).

A reference is written once per model version and replaces the one before, so a bad file
does lasting harm: an empty or header-only file would make every feature look drifted or
none at all, and a file lacking some features would silently stop the monitor watching
them. Such files are refused before anything is replaced.
"""

from pathlib import Path

import pandas as pd

from tools.errors import ConfigError

MIN_REFERENCE_ROWS = 100
"""Fewest rows a reference may have: below this its histograms are noise."""


def reference_features(
    frame: pd.DataFrame, path: Path, model: str, features: list[str], covered: set[str]
) -> list[str]:
    """The model's features to build references for from `frame`.

    Args:
        frame: the rows read from `path`.
        path: the file, for messages.
        model: the model, for messages.
        features: the model's features (its `features` tag), in order.
        covered: features the reference being replaced covers (empty when there is none).

    Raises:
        ConfigError: too few rows, none of the model's features, a feature with no values, or
            a feature of the current reference missing.
    """
    if len(frame) < MIN_REFERENCE_ROWS:
        raise ConfigError(
            f"{path} has {len(frame)} row(s); a reference needs at least {MIN_REFERENCE_ROWS} "
            f"(the reference of {model} is unchanged)"
        )
    present = [f for f in features if f in frame.columns]
    if not present:
        shown = ", ".join(features[:5]) + ("..." if len(features) > 5 else "")
        raise ConfigError(f"{path} has none of {model}'s features ({shown})")
    empty = [f for f in present if frame[f].isna().all()]
    if empty:
        raise ConfigError(f"{path}: column(s) {', '.join(empty[:5])} have no values")
    lost = sorted(covered - set(present))
    if lost:
        raise ConfigError(
            f"{path} lacks {len(lost)} feature(s) the current reference of {model} covers "
            f"({', '.join(lost[:5])}); the monitor would stop watching them"
        )
    return present
