"""A correct scenario the agents still fail can be marked a known failure: reported, and it
does not fail `lotsen eval run` (other failures still do)."""

from pathlib import Path
from typing import Any

from evals.runner import CaseResult, RunResult
from evals.scenario import KNOWN_FAILURE, load_scenario
from lotsen.cli.evals import run_verdict

SCENARIO = """\
id: k-01
agent: assistant
level: diagnosis
difficulty: medium
seed: 5
telemetry: null
ask: "where was m validated?"
known_failure: "tier 0 does not read version lineage"
expect: [{check: no_action, kind: any}]
"""


def case(scenario: str, passed: bool, tags: list[str]) -> CaseResult:
    fields: dict[str, Any] = {"scenario": scenario, "passed": passed, "tags": tags}
    return CaseResult.model_construct(**fields)


def run(*cases: CaseResult) -> RunResult:
    fields: dict[str, Any] = {"cases": list(cases)}
    return RunResult.model_construct(**fields)


def test_known_failure_is_a_tag_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "k-01.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.known_failure == "tier 0 does not read version lineage"
    assert scenario.tags == ["medium", KNOWN_FAILURE]


def test_only_unknown_failures_fail_the_run() -> None:
    known = case("k-01", False, ["medium", KNOWN_FAILURE])
    other = case("x-01", False, ["easy"])
    ok = case("y-01", True, ["easy"])
    assert run_verdict(run(known, ok), None) is None
    verdict = run_verdict(run(known, other, ok), None)
    assert verdict == "eval failed: 1 scenario(s) failed: x-01"
    # --fail-under still counts every case, known failures included
    low = run_verdict(run(known, ok), 75)
    assert low == "eval failed: pass@1 50.0% is below --fail-under 75%"
