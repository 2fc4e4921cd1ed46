"""One partition of a fleet scan as a batch job, and the merge of every partition's output.

`python -m tools.drift.partition_job scan TELEMETRY OUT_DIR --parts N [--part I]` scans the
models with `hash(model) % N = I` (I defaults to the indexed Job's JOB_COMPLETION_INDEX)
and writes OUT_DIR/part-I.json; `python -m tools.drift.partition_job merge OUT_DIR --parts
N` checks that all N parts are there and prints the merged signals (model order, scan-wide
FDR cutoff) as JSON: the result of one single-process scan. deploy/kubernetes/scan-job.yaml
runs the first as an indexed Job and the second after it.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from tools.drift.engine import DriftConfig
from tools.drift.ray_engine import merge, scan_partition


def scan_part(telemetry: Path, out_dir: Path, part: int, parts: int) -> Path:
    """Scan one partition and write its signals and p-values."""
    if not 0 <= part < parts:
        raise SystemExit(f"--part must be in 0..{parts - 1}, got {part}")
    signals, p_values = scan_partition(str(telemetry), part, parts, DriftConfig())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"part-{part}.json"
    payload = {"signals": signals, "p_values": p_values.tolist()}
    target.write_text(json.dumps(payload, default=str))
    return target


def merge_parts(out_dir: Path, parts: int) -> str:
    """Every partition's output merged, as JSON; refuses when a part is missing."""
    missing = [i for i in range(parts) if not (out_dir / f"part-{i}.json").exists()]
    if missing:
        raise SystemExit(f"partitions {missing} have no output in {out_dir}: rerun them first")
    results = []
    for i in range(parts):
        loaded = json.loads((out_dir / f"part-{i}.json").read_text())
        results.append((loaded["signals"], np.asarray(loaded["p_values"], dtype=np.float64)))
    merged = merge(results, DriftConfig())
    return json.dumps([s.model_dump(mode="json") for s in merged])


def main(argv: list[str] | None = None) -> None:
    """Command line: `scan` one partition or `merge` them all."""
    parser = argparse.ArgumentParser(prog="python -m tools.drift.partition_job")
    sub = parser.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan")
    scan.add_argument("telemetry", type=Path)
    scan.add_argument("out_dir", type=Path)
    scan.add_argument("--parts", type=int, required=True)
    scan.add_argument("--part", type=int, default=None)
    join = sub.add_parser("merge")
    join.add_argument("out_dir", type=Path)
    join.add_argument("--parts", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "scan":
        part = args.part
        if part is None:
            index = os.environ.get("JOB_COMPLETION_INDEX")
            if index is None:
                raise SystemExit(
                    "--part is needed outside an indexed Job (no JOB_COMPLETION_INDEX)"
                )
            part = int(index)
        print(scan_part(args.telemetry, args.out_dir, part, args.parts))
    else:
        sys.stdout.write(merge_parts(args.out_dir, args.parts) + "\n")


if __name__ == "__main__":
    main()
