"""Runs Evidently's default data-drift report on benchmark data, in Evidently's own venv.

Standalone on purpose (no Lotsen imports): Evidently 0.7 needs pandas < 3, so it runs in
`.venv-bench` (`make bench-env`) as `python evidently_runner.py DATA_DIR OUT_JSON`.
"""

import json
import sys
import time
from pathlib import Path

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset


def main(data_dir: Path, out: Path) -> None:
    """Time one default DataDriftPreset report per model and record the flagged columns."""
    results = {}
    for ref_file in sorted(data_dir.glob("*.ref.parquet")):
        model = ref_file.name.removesuffix(".ref.parquet")
        reference = pd.read_parquet(ref_file)
        current = pd.read_parquet(data_dir / f"{model}.cur.parquet")
        start = time.perf_counter()
        snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
        seconds = time.perf_counter() - start
        flagged, scores = [], {}
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if not config["type"].endswith("ValueDrift"):
                continue
            value, threshold = float(metric["value"]), float(config["threshold"])
            drifted = value < threshold if "p_value" in config["method"] else value >= threshold
            scores[config["column"]] = value
            if drifted:
                flagged.append(config["column"])
        results[model] = {"seconds": seconds, "drifted": sorted(flagged), "scores": scores}
    out.write_text(json.dumps(results))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
