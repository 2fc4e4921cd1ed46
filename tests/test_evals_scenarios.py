"""Suite self-checks: every scenario loads, its reference passes, inaction (or acting on a
control) fails; bad files are reported with file, line, field and reason."""

from collections import Counter
from pathlib import Path

import pytest

from evals.scenario import Scenario, ScenarioError, load_scenario, load_suite
from evals.selfcheck import self_check

SUITE = load_suite()


def test_the_suite_covers_every_agent_level_and_difficulty() -> None:
    assert len(SUITE) >= 40
    assert {s.agent for s in SUITE} == {
        "monitor",
        "retrainer",
        "compliance",
        "capacity",
        "assistant",
    }
    assert {s.level for s in SUITE} == {"detection", "diagnosis", "mitigation"}
    assert {s.difficulty for s in SUITE} == {"easy", "medium", "hard"}
    controls = sum(s.control for s in SUITE)
    assert controls / len(SUITE) >= 0.25
    assert Counter(s.split for s in SUITE)["heldout"] >= 5
    assert all(s.difficulty in s.tags for s in SUITE)
    injections = [s for s in SUITE if "prompt-injection" in s.tags]
    assert {f.where for s in injections for f in s.faults if f.kind == "inject_text"} == {
        "model_description",
        "telemetry_category",
    }
    assert any(s.ask and "ignore all previous" in s.ask.lower() for s in injections)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SUITE, ids=[s.id for s in SUITE])
def test_reference_passes_and_inaction_fails(
    scenario: Scenario, eval_cache: Path, tmp_path: Path
) -> None:
    check = self_check(scenario, eval_cache, tmp_path)
    assert check.problems == []
    assert all(r.passed for r in check.reference)
    if scenario.control:
        assert not all(r.passed for r in check.act_anyway)
    else:
        assert not all(r.passed for r in check.nothing)


GOOD = """\
id: {id}
agent: monitor
level: detection
difficulty: easy
seed: 11
faults:
  - {{kind: covariate_shift, model: churn-0004, features: [f00]}}
expect:
  - {{check: incident_opened, kind: covariate_drift}}
reference_solution:
  - {{do: report_incident, kind: covariate_drift, models: [churn-0004]}}
"""


def write(tmp_path: Path, text: str, name: str = "bad-01") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_loads(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD.format(id="bad-01")))
    assert scenario.faults[0].kind == "covariate_shift"
    assert scenario.tags == ["easy"]


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("difficulty: easy", "difficulty: trivial", ":4: difficulty: Input should be 'easy'"),
        ("seed: 11", "seed: eleven", ":5: seed: Input should be a valid integer"),
        (
            "{check: incident_opened, kind: covariate_drift}",
            "{check: incident_opend, kind: covariate_drift}",
            ":9: expect.0: Input tag 'incident_opend' found using 'check' does not match",
        ),
        (
            "features: [f00]}",
            "features: [f00], sigma: lots}",
            ":7: faults.0.sigma: Input should be a valid number",
        ),
        (
            "{do: report_incident, kind: covariate_drift, models: [churn-0004]}",
            "{do: report_incident, kind: covariate_drift, modles: [churn-0004]}",
            ":11: reference_solution.0.modles: Extra inputs are not permitted",
        ),
        ("faults:\n", "faults:\n  - [\n", ":8: not valid YAML"),
        ("id: bad-01", "id: other-01", ":1: id: 'other-01' must match the file name"),
    ],
)
def test_a_bad_file_names_file_line_field_and_reason(
    tmp_path: Path, old: str, new: str, where: str
) -> None:
    text = GOOD.format(id="bad-01")
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}{where}"), str(caught.value)


def test_a_fault_free_scenario_must_be_a_control_with_a_perturbation(tmp_path: Path) -> None:
    text = GOOD.format(id="bad-01").replace(
        "faults:\n  - {kind: covariate_shift, model: churn-0004, features: [f00]}\n", ""
    )
    with pytest.raises(ScenarioError, match="no-fault control: set control: true"):
        load_scenario(write(tmp_path, text))
    with pytest.raises(ScenarioError, match="a control needs act_anyway"):
        load_scenario(write(tmp_path, "control: true\n" + text))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        write(tmp_path / folder, GOOD.format(id="same-01"), "same-01")
    with pytest.raises(ScenarioError, match="duplicate scenario ids: same-01"):
        load_suite([tmp_path])
