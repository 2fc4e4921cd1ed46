"""`make mutation`: mutation testing of the safety-critical modules with mutmut.

Each module is mutated in a scratch copy of the last commit, against the test files that
speak about it (so a mutant runs only the tests that can kill it), and the scores and the
surviving mutants are written to `tests/mutation/reports/` (index: `REPORT.md`):

    python -m tests.mutation.run                   # every module below
    python -m tests.mutation.run tools/policy/gate.py --max-children 2
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.mutation.report import TARGET, Score, equivalent_mutants, write, write_index

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["lotsen", "world", "agents", "llm", "tools", "prompts", "memory", "evals"]

MODULES: dict[str, list[str]] = {
    "tools/policy/gate.py": ["tests/test_gate_rules.py"],
    "memory/approvals.py": ["tests/test_approvals_rules.py"],
    "memory/audit.py": [
        "tests/test_audit_rules.py",
        "tests/test_audit.py",
        "tests/test_audit_anchor.py",
    ],
    "memory/audit_verify.py": [
        "tests/test_audit_verify_rules.py",
        "tests/test_audit.py",
        "tests/test_audit_anchor.py",
    ],
    "agents/remediation/plan.py": [
        "tests/test_remediation_plan_rules.py",
        "tests/test_events_correlation.py",
        "tests/test_bounded_choices.py",
    ],
    "agents/remediation/executor.py": [
        "tests/test_remediation_executor_rules.py",
        "tests/test_rollback_target.py",
    ],
    "tools/registry/rollback.py": ["tests/test_rollback_rules.py", "tests/test_rollback_target.py"],
    "tools/registry/alias_history.py": [
        "tests/test_alias_history_rules.py",
        "tests/test_registry.py",
    ],
    "tools/runtime/runner.py": [
        "tests/test_tool_runner_rules.py",
        "tests/test_tool_output_cap.py",
        "tests/test_tool_runtime.py",
    ],
    "tools/drift/incidents.py": [
        "tests/test_drift_incidents.py",
        "tests/test_incident_grouping_rules.py",
    ],
    "tools/drift/engine.py": ["tests/test_drift_thresholds.py", "tests/test_drift_engine.py"],
    "evals/oracles.py": ["tests/test_evals_oracles.py", "tests/test_evals_oracles_rules.py"],
    "evals/metrics.py": ["tests/test_evals_metrics_rules.py", "tests/test_evals_metrics.py"],
}
"""Each safety-critical module and the test files that must kill its mutants."""

STATUS = re.compile(r"^\s*(\S+): (.+)$")


def scratch_copy(module: str, tests: list[str]) -> Path:
    """The committed tree (HEAD) in a temp dir, configured to mutate `module` only."""
    dest = Path(tempfile.mkdtemp(prefix="lotsen-mutation-"))
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    pyproject = (dest / "pyproject.toml").read_text(encoding="utf-8")
    (dest / "pyproject.toml").write_text(pyproject + _config(module, tests), encoding="utf-8")
    return dest


def head() -> str:
    """The commit the mutants are made from."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def _config(module: str, tests: list[str]) -> str:
    quoted = ", ".join(f'"{t}"' for t in tests)
    return (
        f"[tool.mutmut]\nsource_paths = [{', '.join(repr(p) for p in PACKAGES)}]\n".replace(
            "'", '"'
        )
        + f'only_mutate = ["{module}"]\n'
        + 'pytest_add_cli_args = ["-p", "no:cacheprovider", "--hypothesis-profile=ci", "-x"]\n'
        + f"pytest_add_cli_args_test_selection = [{quoted}]\n"
        + "timeout_multiplier = 30.0\ntimeout_constant = 20.0\n"
    )


def mutate(module: str, tests: list[str], max_children: int) -> Score:
    """Run mutmut on one module; return its score and surviving mutants."""
    started, commit = time.monotonic(), head()  # the commit copied, not one made meanwhile
    workdir = scratch_copy(module, tests)
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    try:
        run = subprocess.run(
            [mutmut, "run", "--max-children", str(max_children)],
            cwd=workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        listing = subprocess.run(
            [mutmut, "results", "--all", "true"],
            cwd=workdir,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        score = Score(module, commit, tests, seconds=time.monotonic() - started)
        known = equivalent_mutants()
        for line in listing.splitlines():
            found = STATUS.match(line)
            if not found:
                continue
            name, status = found.groups()
            score.counts[status] = score.counts.get(status, 0) + 1
            if status in ("survived", "no tests"):
                diff = subprocess.run(
                    [mutmut, "show", name], cwd=workdir, capture_output=True, text=True
                ).stdout
                score.add_survivor(diff.strip(), known)
        if not score.killed and not score.survivors:
            print(f"mutmut found nothing to count for {module}:\n{run.stdout[-3000:]}")
        return score
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    """Mutate the modules named on the command line (default: all); exit 1 below 90%."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--fail-under", type=float, default=TARGET)
    parser.add_argument("--index", action="store_true", help="only rebuild REPORT.md")
    args = parser.parse_args()
    if args.index:
        write_index(list(MODULES))
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"not a mutation-tested module: {', '.join(unknown)}")
    scores = []
    for module in args.modules:
        score = mutate(module, MODULES[module], args.max_children)
        print(f"{module}: {score.score:.1f}% killed ({score.killed}/{score.total})", flush=True)
        scores.append(score)
        write(score)
        write_index(list(MODULES))
    return 0 if all(s.score >= args.fail_under for s in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
