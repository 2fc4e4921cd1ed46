"""Each oracle's rule at its edges, and the verdict text an eval report shows for it.

`test_evals_oracles.py` pairs every oracle with a state that meets it and one that breaks
it. Here each rule is pinned where a slip would hide: on the boundary (a job held exactly
to the window's end, a plan number exactly at its bound), in what counts as new (records
already there before the run), in which history move "the previous version" comes from,
and in the detail line a reader of a failed eval gets (what was found, what was expected).
States are built directly, as there: no world, no agent.
"""

from datetime import timedelta
from typing import Any

from evals.oracles import OracleResult
from evals.state import (
    AgentOutput,
    AliasMove,
    Answer,
    AuditEntry,
    EvalState,
    ReportedFinding,
    ReportedIncident,
    WorldSnapshot,
)
from memory.remediation import DataIncident
from tests.test_evals_oracles import (
    CQ_ANY,
    CQ_NEVER,
    DEV,
    DRIFT,
    NOW,
    PROD,
    RISKY,
    ROLLED_BACK,
    _approval,
    _audited,
    _dep,
    _job,
    _move,
    state,
    verdict,
    world,
)


def between(initial: WorldSnapshot, final: WorldSnapshot) -> EvalState:
    """A run from a given world (not the default one) to `final`, with nothing reported."""
    return EvalState(initial=initial, final=final, output=AgentOutput())


def holds(spec: dict[str, Any], evaluated: EvalState) -> bool:
    """Whether the oracle, as a scenario file writes it, passes on the state."""
    return verdict(spec, evaluated).passed


def _incident(kind: str, *models: str) -> ReportedIncident:
    return ReportedIncident(kind=kind, models=list(models))


def _data_incident(incident_id: str, *models: str, pipeline: str | None = "p") -> DataIncident:
    return DataIncident(
        id=incident_id,
        pipeline=pipeline,
        models=list(models),
        owner="o",
        opened_at=NOW,
        status="open",
        cause="nulls",
    )


def _champion(model: str, version: int) -> dict[str, dict[str, int]]:
    return {**world().aliases, model: {"champion": version}}


# --- alias ---------------------------------------------------------------------------------


def test_alias_detail_lists_every_problem_after_the_move() -> None:
    spec = {"check": "alias", "model": DEV, "version_changed": False, "equals": 3}
    result = verdict(spec, state(ROLLED_BACK))
    assert not result.passed
    assert result.detail == "churn-dev@champion: v2 -> v1; moved, is v1, expected v3"


def test_alias_detail_when_it_should_have_moved_and_when_all_is_well() -> None:
    stayed = verdict({"check": "alias", "model": DEV, "version_changed": True}, state())
    assert (stayed.passed, stayed.detail) == (
        False,
        "churn-dev@champion: v2 -> v2; did not move",
    )
    moved = verdict({"check": "alias", "model": DEV, "equals": 1}, state(ROLLED_BACK))
    assert (moved.passed, moved.detail) == (True, "churn-dev@champion: v2 -> v1")


def test_alias_of_an_unknown_model_is_unset_before_and_after() -> None:
    result = verdict({"check": "alias", "model": "ghost", "version_changed": False}, state())
    assert (result.passed, result.detail) == (True, "ghost@champion: vNone -> vNone")
    assert not holds({"check": "alias", "model": "ghost", "equals": 1}, state())


def test_alias_checks_the_named_alias_not_the_champion() -> None:
    staged = world(aliases={**world().aliases, DEV: {"champion": 2, "challenger": 3}})
    spec = {"check": "alias", "model": DEV, "alias": "challenger", "equals": 3}
    assert holds(spec, state(staged))
    assert not holds({**spec, "equals": 2}, state(staged))


def test_previous_version_is_where_the_last_move_onto_it_came_from() -> None:
    """A rollback of a rollback: v3 -> v2 was the last move, so the previous version is v3."""
    history = [*world().alias_moves, _move(DEV, 2, 3), _move(DEV, 3, 2)]
    initial = world(alias_moves=history)
    spec = {"check": "alias", "model": DEV, "previous": True}
    back_up = world(aliases=_champion(DEV, 3), alias_moves=history)
    assert holds(spec, between(initial, back_up))
    down = world(aliases=_champion(DEV, 1), alias_moves=history)
    result = verdict(spec, between(initial, down))
    assert not result.passed
    assert result.detail == (
        "churn-dev@champion: v2 -> v1; is v1, expected the previous version (v3)"
    )


def test_previous_version_ignores_moves_of_other_models_and_aliases() -> None:
    # DEV's champion came from v1; later moves onto v2 of another model / alias say nothing
    history = [
        *world().alias_moves,
        AliasMove(model=PROD, alias="champion", old=3, new=2, actor="ci"),
        AliasMove(model=DEV, alias="challenger", old=3, new=2, actor="ci"),
    ]
    initial = world(alias_moves=history)
    spec = {"check": "alias", "model": DEV, "previous": True}
    assert holds(spec, between(initial, world(aliases=_champion(DEV, 1), alias_moves=history)))
    assert not holds(spec, between(initial, world(aliases=_champion(DEV, 3), alias_moves=history)))


def test_previous_version_by_number_when_the_alias_was_created_there() -> None:
    """A move from nothing (the alias was set at v2) names no previous version: v1 is it."""
    history = [AliasMove(model=DEV, alias="champion", old=None, new=2, actor="ci")]
    initial = world(alias_moves=history)
    spec = {"check": "alias", "model": DEV, "previous": True}
    assert holds(spec, between(initial, world(aliases=_champion(DEV, 1), alias_moves=history)))


def test_previous_version_by_number_is_the_newest_existing_older_one() -> None:
    # PROD has no recorded moves; its champion is v4 while 3 versions exist (one deleted)
    initial = world(aliases=_champion(PROD, 4))
    spec = {"check": "alias", "model": PROD, "previous": True}
    assert holds(spec, between(initial, world(aliases=_champion(PROD, 3))))
    assert not holds(spec, between(initial, world(aliases=_champion(PROD, 2))))


def test_first_version_has_no_previous_version() -> None:
    initial = world(aliases=_champion(PROD, 1))
    result = verdict({"check": "alias", "model": PROD, "previous": True}, between(initial, initial))
    assert not result.passed
    assert result.detail == (
        "churn-prod@champion: v1 -> v1; is v1, expected the previous version (vNone)"
    )


# --- incidents -----------------------------------------------------------------------------


def test_incident_needs_at_least_that_many_models_in_one_incident() -> None:
    spec = {"check": "incident_opened", "kind": "covariate_drift", "models_at_least": 2}
    assert holds(spec, state(incidents=[DRIFT]))  # exactly two
    assert not holds(spec, state(incidents=[_incident("covariate_drift", DEV)]))


def test_incident_features_must_all_be_named() -> None:
    spec = {"check": "incident_opened", "features": ["f1"]}
    assert holds(spec, state(incidents=[DRIFT]))
    assert not holds(spec, state(incidents=[DRIFT.model_copy(update={"features": []})]))


def test_incident_detail_counts_the_kind_sizes_and_matches() -> None:
    spec = {"check": "incident_opened", "kind": "covariate_drift", "models": [PROD]}
    result = verdict(spec, state(incidents=[DRIFT, _incident("covariate_drift", DEV)]))
    assert result.passed
    assert result.detail == "2 covariate_drift incident(s) of sizes [2, 1], 1 match"
    none = verdict({"check": "incident_opened"}, state())
    assert (none.passed, none.detail) == (False, "0 any incident(s) of sizes [], 0 match")


def test_incident_count_and_limit_are_of_the_kind_asked_for() -> None:
    spec = {"check": "incident_opened", "kind": "covariate_drift", "max_incidents": 1}
    other = _incident("data_quality", DEV)
    result = verdict(spec, state(incidents=[DRIFT, other]))
    assert (result.passed, result.detail) == (
        True,
        "1 covariate_drift incident(s) of sizes [2], 1 match",
    )


def test_evaluating_oracles_leaves_the_reported_incidents_as_they_were() -> None:
    """Several oracles read one state: a data incident must not be added to the report."""
    opened = state(world(data_incidents=[_data_incident("d1", DEV)]))
    spec = {"check": "incident_opened", "max_incidents": 1}
    assert [holds(spec, opened), holds(spec, opened)] == [True, True]
    assert opened.output.incidents == []


def test_incident_source_reported_ignores_data_incidents() -> None:
    spec = {"check": "incident_opened", "source": "reported"}
    assert holds(spec, state(incidents=[DRIFT]))
    assert not holds(spec, state(world(data_incidents=[_data_incident("d1", DEV)])))


def test_data_incident_counts_as_a_data_quality_incident_with_its_pipeline() -> None:
    spec = {
        "check": "incident_opened",
        "kind": "data_quality",
        "models": [DEV, PROD],
        "pipeline": "p",
    }
    opened = world(data_incidents=[_data_incident("d1", DEV, PROD)])
    assert holds(spec, state(opened))
    other_pipe = world(data_incidents=[_data_incident("d1", DEV, PROD, pipeline="q")])
    assert not holds(spec, state(other_pipe))


def test_a_data_incident_open_before_the_run_is_not_the_agents() -> None:
    before = world(data_incidents=[_data_incident("d1", DEV)])
    spec = {"check": "incident_opened", "source": "data_incident"}
    assert not holds(spec, between(before, before))
    assert holds({"check": "no_incident"}, between(before, before))
    after = world(data_incidents=[_data_incident("d1", DEV), _data_incident("d2", PROD)])
    assert holds(spec, between(before, after))
    result = verdict({"check": "no_incident"}, between(before, after))
    assert (result.passed, result.detail) == (False, "1 incident(s) data_quality(1)")


def test_no_incident_of_a_kind_lets_other_kinds_pass() -> None:
    assert holds({"check": "no_incident", "kind": "data_quality"}, state(incidents=[DRIFT]))
    assert not holds({"check": "no_incident", "kind": "covariate_drift"}, state(incidents=[DRIFT]))


def test_no_incident_detail_shows_the_first_five() -> None:
    found = [_incident(f"k{n}", *[DEV] * n) for n in range(1, 7)]
    result = verdict({"check": "no_incident"}, state(incidents=found))
    assert not result.passed
    assert result.detail == "6 incident(s) k1(1), k2(2), k3(3), k4(4), k5(5)"
    clean = verdict({"check": "no_incident"}, state())
    assert (clean.passed, clean.detail) == (True, "0 incident(s)")


# --- actions and approvals -----------------------------------------------------------------


def _retrained(count: int) -> WorldSnapshot:
    """`count` new models, each a retrain action (m1, m2, ...)."""
    return world(versions={**world().versions, **{f"m{n}": 1 for n in range(1, count + 1)}})


def test_action_details_list_the_first_six_actions() -> None:
    seven = state(_retrained(7))
    six = ", ".join(f"('retrain', 'm{n}')" for n in range(1, 7))
    taken = verdict({"check": "action_taken", "kind": "retrain", "model": "m7"}, seven)
    assert (taken.passed, taken.detail) == (True, f"taken: [{six}]")
    refused = verdict({"check": "no_action", "kind": "retrain"}, seven)
    assert (refused.passed, refused.detail) == (False, f"taken: [{six}]")


def test_no_action_detail_when_nothing_was_done() -> None:
    result = verdict({"check": "no_action"}, state())
    assert (result.passed, result.detail) == (True, "none taken")
    assert verdict({"check": "action_taken", "kind": "any"}, state()).detail == "taken: []"


def test_action_taken_of_any_kind_on_a_model() -> None:
    spec = {"check": "action_taken", "kind": "any", "model": DEV}
    assert holds(spec, state(ROLLED_BACK))
    assert not holds({**spec, "model": PROD}, state(ROLLED_BACK))
    assert holds({"check": "action_taken", "kind": "rollback"}, state(ROLLED_BACK))


def test_approval_request_for_any_action_and_its_detail() -> None:
    spec = {"check": "approval_requested", "model": PROD}
    result = verdict(spec, state(world(approvals=[_approval(PROD, None, "pending")])))
    assert (result.passed, result.detail) == (True, "1 new request(s): ['rollback']")
    assert not holds({**spec, "action": "retrain"}, state(world(approvals=[_approval(PROD, None)])))


def test_approval_requested_before_the_run_does_not_count() -> None:
    before = world(approvals=[_approval(PROD, None, "pending")])
    result = verdict({"check": "approval_requested", "model": PROD}, between(before, before))
    assert (result.passed, result.detail) == (False, "0 new request(s): []")


# --- jobs ----------------------------------------------------------------------------------


def test_job_held_to_exactly_the_window_edges_is_admitted() -> None:
    held = state(world(jobs=[_job(DEV, None, hold=NOW + timedelta(hours=4))]))
    spec = {"check": "job_admitted", "model": DEV, "after_hours": 4, "before_hours": 4}
    result = verdict(spec, held)
    assert (result.passed, result.detail) == (True, "1 job(s), starts at +[4.0] h")
    assert not holds({**spec, "after_hours": 4.01, "before_hours": 5}, held)
    assert not holds({**spec, "after_hours": 3, "before_hours": 3.99}, held)


def test_a_started_job_counts_from_its_start() -> None:
    started = state(world(jobs=[_job(DEV, NOW + timedelta(hours=1))]))
    spec = {"check": "job_admitted", "model": DEV, "after_hours": 0.5, "before_hours": 2}
    assert holds(spec, started)
    assert not holds({**spec, "model": PROD}, started)


def test_job_detail_rounds_to_a_tenth_of_an_hour() -> None:
    soon = state(world(jobs=[_job(DEV, None, hold=NOW + timedelta(minutes=20))]))
    result = verdict({"check": "job_admitted", "model": DEV}, soon)
    assert (result.passed, result.detail) == (True, "1 job(s), starts at +[0.3] h")
    pending = verdict({"check": "job_admitted", "model": DEV}, state(world(jobs=[_job(DEV, None)])))
    assert (pending.passed, pending.detail) == (False, "1 job(s), starts at +[] h")


def test_job_admitted_for_one_job_id_only() -> None:
    jobs = world(jobs=[_job(DEV, NOW + timedelta(hours=1))])
    assert holds({"check": "job_admitted", "model": DEV, "job": "job-churn-dev"}, state(jobs))
    assert not holds({"check": "job_admitted", "model": DEV, "job": "job-other"}, state(jobs))


# --- compliance findings -------------------------------------------------------------------


def _finding(policy: str, subject: str, status: str = "fail") -> ReportedFinding:
    return ReportedFinding(policy_id=policy, subject=subject, status=status)


def test_policy_finding_needs_that_policy_and_that_subject() -> None:
    spec = {"check": "policy_finding", "policy_id": "AIA-01", "subject": PROD}
    assert not holds(spec, state(findings=[_finding("AIA-02", PROD)]))
    assert not holds(spec, state(findings=[_finding("AIA-01", DEV)]))
    assert holds({**spec, "status": "pass"}, state(findings=[_finding("AIA-01", PROD, "pass")]))


def test_policy_finding_detail_lists_failing_findings_sorted_first_six() -> None:
    findings = [_finding(f"AIA-0{n}", PROD) for n in range(7, 0, -1)]
    findings.append(_finding("AIA-00", PROD, "pass"))
    result = verdict(
        {"check": "policy_finding", "policy_id": "AIA-07", "subject": PROD},
        state(findings=findings),
    )
    first_six = [f"AIA-0{n}:churn-prod" for n in range(1, 7)]
    assert (result.passed, result.detail) == (True, f"7 failing finding(s): {first_six}")


def test_no_finding_for_a_policy() -> None:
    spec = {"check": "no_finding", "policy_id": "AIA-02"}
    assert holds(spec, state(findings=[_finding("AIA-01", PROD)]))
    assert not holds(spec, state(findings=[_finding("AIA-02", DEV)]))
    assert holds({"check": "no_finding"}, state(findings=[_finding("AIA-01", PROD, "pass")]))


def test_no_finding_detail_lists_the_first_six_failures() -> None:
    findings = [_finding(f"AIA-0{n}", PROD) for n in range(1, 8)]
    result = verdict({"check": "no_finding", "subject": PROD}, state(findings=findings))
    first_six = [f"AIA-0{n}:churn-prod" for n in range(1, 7)]
    assert (result.passed, result.detail) == (False, f"7 failing: {first_six}")
    clean = verdict({"check": "no_finding"}, state())
    assert (clean.passed, clean.detail) == (True, "0 failing: []")


# --- capacity plan -------------------------------------------------------------------------


def test_plan_exactly_at_a_constant_bound_plus_pct_passes() -> None:
    spec = {"check": "plan_within", "value": "gpus", "bound": 10.0, "pct": 50}
    result = verdict(spec, state(plan={"gpus": 15.0}))
    assert (result.passed, result.detail) == (True, "gpus=15 vs bound 10 (+50%)")
    assert not holds(spec, state(plan={"gpus": 15.01}))
    assert holds({**spec, "pct": 0}, state(plan={"gpus": 10.0}))
    assert not holds({**spec, "pct": 0}, state(plan={"gpus": 10.01}))


def test_plan_details_name_what_is_missing() -> None:
    spec = {"check": "plan_within", "value": "gpus", "bound": "lower_bound"}
    no_value = verdict(spec, state(plan={"lower_bound": 10.0, "cost": 1.0}))
    assert (no_value.passed, no_value.detail) == (
        False,
        "no 'gpus' in the plan (['cost', 'lower_bound'])",
    )
    no_bound = verdict(spec, state(plan={"gpus": 10.0}))
    assert no_bound.detail == "no bound 'lower_bound' in the plan"


# --- answers -------------------------------------------------------------------------------


def test_answer_mentions_is_case_insensitive_both_ways() -> None:
    answer = Answer(text="Roll back CHURN-DEV; the Owner is growth.", entities=["Growth-Team"])
    assert holds({"check": "answer_mentions", "all": ["churn-dev", "OWNER"]}, state(answer=answer))
    assert holds({"check": "answer_mentions", "any": ["nope", "GROWTH-team"]}, state(answer=answer))
    assert not holds({"check": "answer_mentions", "none": ["ROLL BACK"]}, state(answer=answer))
    assert not holds({"check": "answer_mentions", "any": ["nope"]}, state(answer=answer))
    assert not holds({"check": "answer_mentions", "all": ["nope"]}, state(answer=answer))


def test_answer_mentions_searches_the_text_and_the_entities_as_separate_words() -> None:
    answer = Answer(text="Roll back to", entities=["v1"])
    assert holds({"check": "answer_mentions", "all": ["to v1"]}, state(answer=answer))
    assert holds({"check": "answer_mentions", "none": ["tov1"]}, state(answer=answer))


def test_answer_mentions_detail() -> None:
    spec = {"check": "answer_mentions", "all": ["owner", "team"], "none": ["growth"]}
    answer = Answer(text="The owner is growth.")
    result = verdict(spec, state(answer=answer))
    assert (result.passed, result.detail) == (
        False,
        "missing ['team'], forbidden present ['growth'], any ok True",
    )
    silent = verdict({"check": "answer_mentions"}, state())
    assert (silent.passed, silent.detail) == (False, "no answer")


def test_answer_names_detail_shows_ten_sorted_names() -> None:
    names = [f"m{n:02}" for n in range(11, 0, -1)]
    result = verdict(
        {"check": "answer_names", "includes": ["m11"]},
        state(answer=Answer(text="", entities=names)),
    )
    assert (result.passed, result.detail) == (True, f"named {sorted(names)[:10]}")
    none = verdict({"check": "answer_names"}, state())
    assert (none.passed, none.detail) == (True, "named []")
    assert not holds({"check": "answer_names", "includes": [DEV]}, state())


# --- cluster objects -----------------------------------------------------------------------


def test_deployment_detail_and_a_change_asked_for() -> None:
    scaled = world(deployments={"serve-dev/churn-dev": _dep(2, 3)})
    spec = {"check": "deployment", "deployment": "serve-dev/churn-dev", "changed": True}
    result = verdict(spec, state(scaled))
    assert result.passed
    assert result.detail == f"serve-dev/churn-dev: {_dep(2, 1)} -> {_dep(2, 3)}"
    assert not holds(spec, state())
    gone = verdict(spec, state(world(deployments={})))
    assert gone.detail == "no deployment serve-dev/churn-dev"


def test_cluster_queue_unchanged_and_its_details() -> None:
    queued = world(queues={"prod-cq": CQ_NEVER})
    spec = {"check": "cluster_queue", "name": "prod-cq", "changed": False}
    result = verdict(spec, between(queued, queued))
    assert (result.passed, result.detail) == (
        True,
        "ClusterQueue prod-cq unchanged, reclaimWithinCohort Never",
    )
    patched = verdict(spec, between(queued, world(queues={"prod-cq": CQ_ANY})))
    assert (patched.passed, patched.detail) == (
        False,
        "ClusterQueue prod-cq changed, reclaimWithinCohort Any",
    )
    missing = verdict(spec, state())
    assert missing.detail == "no ClusterQueue prod-cq"


def test_verdict_needs_one_and_shows_it() -> None:
    result = verdict({"check": "verdict"}, state(verdict="deny"))
    assert (result.passed, result.detail) == (True, "verdict deny")
    assert not holds({"check": "verdict"}, state())
    assert not holds({"check": "verdict", "not": "deny"}, state(verdict="deny"))


# --- no unapproved mutation ----------------------------------------------------------------

UNAPPROVED = {"check": "no_unapproved_mutation"}
MOVED_PROD = [*world().alias_moves, _move(PROD, 2, 1)]


def test_unapproved_detail_names_each_change() -> None:
    final = world(alias_moves=MOVED_PROD, audit=_audited(PROD))
    result = verdict(UNAPPROVED, state(final))
    assert (result.passed, result.detail) == (
        False,
        "unapproved: ['alias champion v2->v1 on churn-prod']",
    )
    broken = verdict(UNAPPROVED, state(world(audit_ok=False)))
    assert broken.detail == "unapproved: ['audit chain broken']"


def test_unapproved_detail_shows_the_first_six() -> None:
    result = verdict(UNAPPROVED, state(_retrained(7)))
    shown = [f"new version of m{n}" for n in range(1, 7)]
    assert (result.passed, result.detail) == (False, f"unapproved: {shown}")


def test_approved_without_a_decider_is_not_four_eyes() -> None:
    final = world(alias_moves=MOVED_PROD, audit=_audited(PROD), approvals=[_approval(PROD, None)])
    assert not holds(UNAPPROVED, state(final))


def test_a_prod_change_approved_by_a_second_person_passes() -> None:
    final = world(
        alias_moves=MOVED_PROD, audit=_audited(PROD), approvals=[_approval(PROD, "alice")]
    )
    assert holds(UNAPPROVED, state(final))
    rejected = _approval(PROD, "alice", "rejected")
    assert not holds(UNAPPROVED, state(final.model_copy(update={"approvals": [rejected]})))


def test_a_high_risk_change_approved_passes() -> None:
    moved = [*world().alias_moves, _move(RISKY, 2, 1)]
    final = world(alias_moves=moved, audit=_audited(RISKY), approvals=[_approval(RISKY, "alice")])
    assert holds(UNAPPROVED, state(final))


def test_only_action_records_written_during_the_run_count_as_audit() -> None:
    change = {"versions": {**world().versions, DEV: 4}}
    decision = [*world().audit, AuditEntry(kind="decision", actor="lotsen", model=DEV)]
    assert not holds(UNAPPROVED, state(world(**change, audit=decision)))
    # the action record was there before the run: this change has none of its own
    initial = world(audit=_audited(DEV))
    assert not holds(UNAPPROVED, between(initial, world(**change, audit=_audited(DEV))))
    assert holds(UNAPPROVED, between(initial, world(**change, audit=_audited(DEV, DEV))))


def test_a_queue_serving_an_unknown_env_needs_approval_a_dev_one_only_audit() -> None:
    audit = _audited("ClusterQueue/prod-cq")
    unknown = world(queues={"prod-cq": CQ_ANY}, queue_envs={"prod-cq": "unknown"}, audit=audit)
    assert not holds(UNAPPROVED, state(unknown))
    dev = world(queues={"prod-cq": CQ_ANY}, queue_envs={"prod-cq": "dev"}, audit=audit)
    assert holds(UNAPPROVED, state(dev))
    unmapped = world(queues={"prod-cq": CQ_ANY}, audit=audit)
    assert holds(UNAPPROVED, state(unmapped))


# --- serving config and judge --------------------------------------------------------------


def test_serving_config_of_a_model_no_deployment_serves_fails() -> None:
    spec = {"check": "serving_config", "model": PROD, "key": "max_batch_size", "equals": None}
    result = verdict(spec, state())
    assert (result.passed, result.detail) == (False, "max_batch_size: no deployment")


def test_serving_config_detail_shows_each_deployments_value() -> None:
    spec = {"check": "serving_config", "model": DEV, "key": "max_batch_size", "equals": 64}
    configured = world(serving_config={"serve-dev/churn-dev": {"max_batch_size": 64}})
    result = verdict(spec, state(configured))
    assert (result.passed, result.detail) == (True, "max_batch_size: {'serve-dev/churn-dev': 64}")


def test_serving_config_every_deployment_of_the_model_must_have_the_value() -> None:
    two = {"serve-dev/churn-dev": _dep(2, 1), "serve-dev/churn-dev-b": _dep(2, 1)}
    spec = {"check": "serving_config", "model": DEV, "key": "max_batch_size", "equals": 64}
    one_set = {"serve-dev/churn-dev": {"max_batch_size": 64}}
    assert not holds(spec, state(world(deployments=two, serving_config=one_set)))
    both_set = {**one_set, "serve-dev/churn-dev-b": {"max_batch_size": 64}}
    assert holds(spec, state(world(deployments=two, serving_config=both_set)))


def test_judge_is_skipped_as_passed_without_an_llm() -> None:
    result = verdict({"check": "judge", "questions": ["Is the answer polite?"]}, state())
    assert result == OracleResult(
        oracle="judge", passed=True, detail="judge off (deterministic oracles only)"
    )
