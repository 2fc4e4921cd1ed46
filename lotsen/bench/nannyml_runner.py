"""Runs NannyML 0.13 on benchmark data, in the bench venv (`make bench-env`, pandas < 3).

Standalone on purpose (no Lotsen imports): `python nannyml_runner.py DATA_DIR OUT_JSON`.
Per model: univariate drift (KS for numeric, chi-squared for categorical columns, one
chunk, KS alert at a constant D > 0.1 because a single reference chunk gives NannyML no
spread to derive its default threshold from). Per performance dataset: CBPE (accuracy,
ROC AUC) or DLE (MAE, RMSE), one chunk.
"""

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
os.environ.setdefault("NML_DISABLE_USER_ANALYTICS", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

import nannyml as nml  # type: ignore[import-not-found]
import pandas as pd


def drift(data_dir: Path) -> dict[str, dict[str, object]]:
    """Univariate drift per model: seconds and flagged columns."""
    results: dict[str, dict[str, object]] = {}
    for ref_file in sorted(data_dir.glob("*.ref.parquet")):
        model = ref_file.name.removesuffix(".ref.parquet")
        reference = pd.read_parquet(ref_file)
        current = pd.read_parquet(data_dir / f"{model}.cur.parquet")
        categorical = [c for c in reference.columns if reference[c].dtype == object]
        start = time.perf_counter()
        calc = nml.UnivariateDriftCalculator(
            column_names=list(reference.columns),
            treat_as_categorical=categorical,
            continuous_methods=["kolmogorov_smirnov"],
            categorical_methods=["chi2"],
            chunk_number=1,
            thresholds={"kolmogorov_smirnov": nml.thresholds.ConstantThreshold(upper=0.1)},
        )
        calc.fit(reference)
        frame = calc.calculate(current).filter(period="analysis").to_df()
        seconds = time.perf_counter() - start
        flagged = [
            str(c)
            for c in reference.columns
            for method in ("kolmogorov_smirnov", "chi2")
            if (c, method, "alert") in frame.columns and bool(frame[(c, method, "alert")].iloc[-1])
        ]
        results[model] = {"seconds": seconds, "drifted": sorted(flagged)}
    return results


def performance(data_dir: Path) -> dict[str, dict[str, object]]:
    """CBPE / DLE per dataset: seconds and the estimated metrics."""
    results: dict[str, dict[str, object]] = {}
    for ref_file in sorted(data_dir.glob("*.perfref.parquet")):
        name = ref_file.name.removesuffix(".perfref.parquet")
        reference = pd.read_parquet(ref_file)
        analysis = pd.read_parquet(data_dir / f"{name}.perfcur.parquet")
        start = time.perf_counter()
        if name.startswith("clf"):
            metrics = ["accuracy", "roc_auc"]
            estimator = nml.CBPE(
                y_pred_proba="score",
                y_pred="pred",
                y_true="label",
                problem_type="classification_binary",
                metrics=metrics,
                chunk_number=1,
            )
        else:
            metrics = ["mae", "rmse"]
            estimator = nml.DLE(
                feature_column_names=["x"],
                y_pred="pred",
                y_true="label",
                metrics=metrics,
                chunk_number=1,
            )
        estimator.fit(reference)
        frame = estimator.estimate(analysis.drop(columns=["label"])).filter(period="analysis")
        table = frame.to_df()
        seconds = time.perf_counter() - start
        values = {m: float(table[(m, "value")].iloc[-1]) for m in metrics}
        results[name] = {"seconds": seconds, "values": values}
    return results


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    Path(sys.argv[2]).write_text(
        json.dumps({"drift": drift(folder), "performance": performance(folder)})
    )
