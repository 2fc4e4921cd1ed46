"""Calibrating a classifier's scores on its labelled reference (for the CBPE estimate).

Isotonic regression, used only when held-out splits show it lowers the expected calibration
error, as NannyML decides. The reference is sorted once: the ten cross-validation fits take
their rows from that order.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
ECE_BINS = 10
CV_SPLITS = 10


@dataclass(frozen=True)
class Calibration:
    """Isotonic map from raw scores to calibrated probabilities (identity when not needed)."""

    x: F64
    y: F64

    def __call__(self, scores: F64) -> F64:
        """Calibrated probabilities."""
        if len(self.x) == 0:
            return np.clip(scores, 0.0, 1.0)
        return np.asarray(np.interp(scores, self.x, self.y), dtype=np.float64)


IDENTITY = Calibration(np.empty(0), np.empty(0))


def fit_calibration(scores: F64, labels: F64, seed: int = 42) -> Calibration:
    """Isotonic calibration if it lowers the pooled out-of-fold calibration error, else identity.

    As NannyML decides: ten random 90/10 splits, the held-out scores of all ten pooled,
    and no calibration for a single class or an (almost) perfect ranking.
    """
    if len(labels) == 0 or (labels == labels[0]).all():
        return IDENTITY
    ranked = _Ranked.of(scores, labels)
    if ranked is None:
        return _fit_unranked(scores, labels, seed)
    if ranked_auc(ranked.y[::-1]) > 0.999:
        return IDENTITY
    before, after = ranked.held_out_errors(seed)
    return _pava(ranked.x, ranked.y) if before > after else IDENTITY


def _fit_unranked(scores: F64, labels: F64, seed: int) -> Calibration:
    """The same decision through sklearn, for inputs `_Ranked.of` leaves to it."""
    if expected_roc_auc(labels, scores) > 0.999:
        return IDENTITY
    rng = np.random.default_rng(seed)
    raw, fitted, truth = [], [], []
    for _ in range(CV_SPLITS):
        order = rng.permutation(len(scores))
        test, train = order[: max(len(order) // 10, 1)], order[max(len(order) // 10, 1) :]
        raw.append(scores[test])
        fitted.append(_sklearn_isotonic(scores[train], labels[train])(scores[test]))
        truth.append(labels[test])
    y = np.concatenate(truth)
    before = expected_calibration_error(np.concatenate(raw), y)
    if before > expected_calibration_error(np.concatenate(fitted), y):
        return _sklearn_isotonic(scores, labels)
    return IDENTITY


def expected_calibration_error(
    probabilities: F64, labels: F64, bins: int = ECE_BINS, order: NDArray[np.intp] | None = None
) -> float:
    """Mean |observed - predicted| positive rate over equal-count score bins, row-weighted.

    Bins as `np.array_split` cuts the ranking (`order`, default a stable sort of the
    probabilities); a bin's weighted gap, size x |mean probability - mean label|, is |sum of
    probabilities - sum of labels|.
    """
    n = len(probabilities)
    if n == 0:
        return 0.0
    parts = min(bins, max(n // 2, 1))
    size, extra = divmod(n, parts)
    which = np.repeat(np.arange(parts), [size + 1] * extra + [size] * (parts - extra))
    if order is None:
        order = np.argsort(probabilities, kind="stable")
    predicted = np.bincount(which, weights=probabilities[order], minlength=parts)
    observed = np.bincount(which, weights=labels[order], minlength=parts)
    return float(np.abs(predicted - observed).sum() / n)


def expected_roc_auc(probabilities: F64, scores: F64) -> float:
    """ROC AUC with each row a positive of weight p and a negative of weight 1 - p."""
    return ranked_auc(probabilities[np.argsort(scores)[::-1]])


def ranked_auc(p: F64) -> float:
    """Expected ROC AUC of rows ranked from the highest score down, positive with weight p."""
    tps = np.concatenate(([0.0], np.cumsum(p)))
    fps = np.arange(len(p) + 1, dtype=np.float64) - tps
    tps, fps = np.round(tps, 5), np.round(fps, 5)  # as NannyML, before normalising
    if tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    return float(np.trapezoid(tps / tps[-1], fps / fps[-1]))


def isotonic(scores: F64, labels: F64) -> Calibration:
    """The thresholds of sklearn's `IsotonicRegression(out_of_bounds="clip")`, unchecked.

    The steps of its fit (sort by score then label, merge equal scores into their mean
    label, scipy's pool-adjacent-violators, drop the inner points of flat runs), so the same
    numbers in a fraction of the time (its input validation took most of a calibration).
    Inputs it would treat differently go to sklearn itself (see `_Ranked.of`).
    """
    ranked = _Ranked.of(scores, labels)
    if ranked is None:
        return _sklearn_isotonic(scores, labels)
    return _pava(ranked.x, ranked.y)


@dataclass(frozen=True)
class _Ranked:
    """A reference sorted once by score then label.

    Any subset of it, taken in this order, is that subset sorted: the cross-validation fits
    reuse the one sort instead of sorting their 90% each.
    """

    order: NDArray[np.intp]
    x: F64
    y: F64

    @property
    def tie_group(self) -> NDArray[np.intp]:
        """Each position's first position with the same score."""
        first = np.concatenate(([True], np.diff(self.x) > 0))
        return np.maximum.accumulate(np.where(first, np.arange(len(self.x)), 0))

    @classmethod
    def of(cls, scores: F64, labels: F64) -> "_Ranked | None":
        """The sorted reference; None where sklearn's own fit must decide.

        Those are non-finite values (it refuses them), labels other than 0/1 (means of ties
        summed in another order) and scores closer than float resolution without being
        equal (it merges those). A subset of a reference without such neighbours has none
        either: its gaps are sums of the reference's.
        """
        order = np.argsort(scores)  # distinct scores: every sort gives this order
        step = np.diff(scores[order])
        if (step == 0).any():  # labels order tied scores
            order = np.lexsort((labels, scores))
        x, y = scores[order], labels[order]
        if (
            not (np.isfinite(x).all() and ((y == 0.0) | (y == 1.0)).all())
            or ((step > 0) & (step < np.finfo(np.float64).resolution)).any()
        ):
            return None
        return cls(order, x, y)

    def held_out_errors(self, seed: int) -> tuple[float, float]:
        """Pooled calibration error of ten held-out tenths, raw and calibrated on the rest."""
        n = len(self.x)
        rng = np.random.default_rng(seed)
        position = np.empty(n, dtype=np.intp)
        position[self.order] = np.arange(n)
        # each split's held-out rows as positions in this order; drawn as before the shared
        # sort (a full permutation each), so the decision stays the same (rng.choice is
        # 0.4 ms faster per reference but draws other splits, and near the tipping point
        # other splits decide otherwise)
        held = max(n // 10, 1)
        tests = position[np.stack([rng.permutation(n)[:held] for _ in range(CV_SPLITS)])]
        y = self.y[tests].ravel()
        # the raw scores' ranking needs no float sort: the first position of their tie
        # group ranks them alike and keeps ties in drawn order, as a stable sort of the
        # scores does (the error's equal-count bins cut through ties: their order counts)
        keys = self.tie_group[tests].ravel()
        raw_order = np.argsort(keys.astype(np.int16) if n <= 2**15 else keys, kind="stable")
        before = expected_calibration_error(self.x[tests].ravel(), y, order=raw_order)
        return before, expected_calibration_error(self.held_out_fits(tests).ravel(), y)

    def held_out_fits(self, tests: NDArray[np.intp]) -> F64:
        """Each split's held-out scores calibrated on the split's other rows.

        `tests` holds one split per row: its held-out positions in this order. Each split is
        fitted on its own: one fit over all ten (later splits' labels lifted above earlier
        ones) was no faster, and its means differ in the last bits, which reorders tied
        probabilities in the calibration error's bins.
        """
        out = np.empty(tests.shape)
        for k, test in enumerate(tests):
            train = np.ones(len(self.x), dtype=bool)
            train[test] = False
            out[k] = np.interp(self.x[test], *_levels(self.x[train], self.y[train]))
        return out


def _pava(x: F64, y: F64) -> Calibration:
    """Isotonic fit of labels `y` on scores `x`, both sorted by score then label."""
    knots, levels = _levels(x, y)
    keep = np.ones(len(levels), dtype=bool)
    keep[1:-1] = (levels[1:-1] != levels[:-2]) | (levels[1:-1] != levels[2:])
    return Calibration(knots[keep], levels[keep])


def _levels(x: F64, y: F64) -> tuple[F64, F64]:
    """Each distinct score and its isotonic level (inner points of flat runs kept)."""
    from scipy import optimize  # imported on first use, as sklearn was

    distinct = np.diff(x) > 0
    if distinct.all():  # no tied scores to merge (then no weights: the same numbers)
        return x, np.asarray(optimize.isotonic_regression(y).x, dtype=np.float64)
    starts = np.flatnonzero(np.concatenate(([True], distinct)))
    weight = np.diff(np.append(starts, len(x))).astype(np.float64)
    fitted = optimize.isotonic_regression(np.add.reduceat(y, starts) / weight, weights=weight)
    return x[starts], np.asarray(fitted.x, dtype=np.float64)


def _sklearn_isotonic(scores: F64, labels: F64) -> Calibration:
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(out_of_bounds="clip").fit(scores, labels)
    return Calibration(
        np.asarray(model.X_thresholds_, dtype=np.float64),
        np.asarray(model.y_thresholds_, dtype=np.float64),
    )
