"""Binomial confidence intervals for success rates."""

import math

Z95 = 1.959963984540054
"""Two-sided 95% normal quantile."""


def wilson(successes: float, trials: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval (low, high) of a success rate; (0, 1) with no trials.

    Args:
        successes: Successes (may be fractional: prior pseudo-counts).
        trials: Trials, >= successes.
        z: Normal quantile (1.96 for 95%).
    """
    if trials <= 0:
        return 0.0, 1.0
    p = min(max(successes / trials, 0.0), 1.0)
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
