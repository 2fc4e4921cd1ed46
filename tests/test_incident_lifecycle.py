"""Incidents over time: one incident per problem across scans, a status people and the
remediation workflow move, and plans that read what was done before (issue 15, part 4).
"""

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agents.remediation.runner import plan_only, remediate, remediated, thread_id
from memory.incidents import IncidentStore
from memory.remediation import RemediationStore
from tests.support.cli import copy_data_dir, run_lotsen
from tools.cluster.sim.twin import SimCluster
from tools.drift.incidents import Incident
from tools.errors import ConflictError
from world.approvals import decide
from world.incidents import close
from world.monitoring import scan_fleet
from world.remediation import Workflow, open_workflow
from world.settings import Settings
from world.world import World

pytestmark = pytest.mark.slow


@pytest.fixture
def world(remediation_seed: Path, tmp_path: Path) -> Iterator[World]:
    copy = tmp_path / "data"
    shutil.copytree(remediation_seed, copy, symlinks=True)
    with World(Settings(data_dir=copy)) as opened:
        yield opened


@pytest.fixture
def wf(world: World) -> Iterator[Workflow]:
    with open_workflow(world, "bob") as workflow:
        yield workflow


def scan(world: World) -> dict[str, Incident]:
    return {i.kind: i for i in scan_fleet(world).incidents}


def next_window(world: World) -> None:
    """A day later the telemetry shows the same faults: every model's newest window is
    repeated one day on (deploy times move with it, so a bad deploy stays one), and the
    world's clock moves a day."""
    db = world.telemetry.db
    newest = "(model, window_start) IN (SELECT model, max(window_start) FROM windows GROUP BY 1)"
    for table in ("window_bins", "windows"):
        db.execute(
            f"INSERT INTO {table} SELECT * REPLACE (window_start + INTERVAL 1 DAY AS window_start)"
            f" FROM {table} WHERE {newest}"
        )
    db.execute("UPDATE models SET deployed_at = deployed_at + INTERVAL 1 DAY")
    twin = world.cluster
    assert isinstance(twin, SimCluster)
    twin.advance(timedelta(days=1))


def test_the_same_break_on_the_next_scan_is_the_same_incident(world: World, wf: Workflow) -> None:
    """Fails on main: the id hashed the window in, so the second scan opened a second data
    incident for the same upstream break."""
    first = scan_fleet(world).incidents
    remediate([i for i in first if i.kind == "data_quality"], wf.world, wf.graph, wf.proposer)
    next_window(world)
    second = scan_fleet(world).incidents
    [upstream] = [i for i in second if i.kind == "data_quality"]
    assert upstream.window_start > first[0].window_start
    assert sorted(i.id for i in second) == sorted(i.id for i in first)
    remediate([upstream], wf.world, wf.graph, wf.proposer)
    assert [d.id for d in wf.world.store.data_incidents()] == [upstream.id]
    store = wf.world.store.incidents
    assert len(store.occurrences()) == len(first)
    record = store.get(upstream.id)
    assert record.windows == [first[0].window_start, upstream.window_start]
    assert record.last_seen - record.first_seen == timedelta(days=1)
    # a data incident: the owner was told, the incident stays open for them
    assert (record.status, record.action, record.changed_by) == (
        "open",
        "open_data_incident",
        "bob",
    )


def test_remediate_after_a_rollback_does_not_plan_it_again(world: World, wf: Workflow) -> None:
    """Fails on main: `lotsen remediate` planned a second rollback for an incident already
    rolled back."""
    incidents = scan(world)
    outcomes = {
        o.incident_id: o
        for o in remediate(list(incidents.values()), wf.world, wf.graph, wf.proposer)
    }
    bad = incidents["bad_deploy"]
    assert outcomes[bad.id].status == "done" and outcomes[bad.id].skipped == ""
    rescanned = scan(world)
    assert rescanned["bad_deploy"].id == bad.id
    planned = {plan.incident_id for plan, _ in plan_only(list(rescanned.values()), wf.world)}
    assert bad.id not in planned and incidents["latency_regression"].id not in planned
    said = remediated(list(rescanned.values()), wf.world)
    assert said[bad.id].startswith("already rolled back at ") and said[bad.id].endswith(" by bob")
    again = {
        o.incident_id: o
        for o in remediate(list(rescanned.values()), wf.world, wf.graph, wf.proposer)
    }
    assert again[bad.id].skipped == said[bad.id]
    record = wf.world.store.incidents.get(bad.id)
    assert (record.status, record.action, record.changed_by) == ("resolved", "rollback", "bob")
    # waiting for a human: remediating; a rejection puts it back, an approval resolves it
    concept, retrain = incidents["concept_drift"], incidents["drift_with_performance_drop"]
    assert wf.world.store.incidents.get(concept.id).status == "remediating"
    assert concept.id in planned  # a run waiting for approval is still shown as planned
    for incident, approved in ((concept, False), (retrain, True)):
        request = next(
            a for a in wf.world.approvals.requests(world.clock()) if a.incident_id == incident.id
        )
        decide(world, request.id, "alice", approved, None)
    assert wf.world.store.incidents.get(concept.id).status == "open"
    # approving the retrain approved the training only: the promotion is a request of its
    # own, and the incident is resolved when that one is approved
    assert wf.world.store.incidents.get(retrain.id).status == "remediating"
    promotion = next(
        a
        for a in wf.world.approvals.requests(world.clock())
        if a.incident_id == retrain.id and a.status == "pending"
    )
    assert promotion.action == "promote"
    decide(world, promotion.id, "alice", True, None)
    assert wf.world.store.incidents.get(retrain.id).status == "resolved"


def test_a_resolved_incident_that_recurs_is_a_new_occurrence_planned_again(
    world: World, wf: Workflow
) -> None:
    """Fails on main (no occurrences: the store and `remediated` do not exist). Without the
    occurrence, a stable id would skip the recurrence's rollback as already done."""
    first = scan(world)["bad_deploy"]
    remediate([first], wf.world, wf.graph, wf.proposer)
    next_window(world)
    recurred = scan(world)["bad_deploy"]
    assert (recurred.key, recurred.occurrence) == (first.id, 2)
    assert recurred.id == f"{first.id}-2" and thread_id(recurred) != thread_id(first)
    store = wf.world.store.incidents
    assert [(r.id, r.status) for r in store.occurrences() if r.key == first.id] == [
        (recurred.id, "open"),
        (first.id, "resolved"),
    ]
    assert [p.action.value for p, _ in plan_only([recurred], wf.world)] == ["rollback"]
    [outcome] = remediate([recurred], wf.world, wf.graph, wf.proposer)
    assert (outcome.incident_id, outcome.status, outcome.skipped) == (recurred.id, "done", "")
    assert store.get(recurred.id).status == "resolved"
    assert [r.kind for r in wf.world.audit.records(incident=recurred.id)].count("action") == 1


def test_a_closed_incident_is_not_remediated_and_recurs_as_a_new_one(
    world: World, wf: Workflow
) -> None:
    """Fails on main: there was no way to close an incident."""
    retrain = scan(world)["drift_with_performance_drop"]
    close(world, retrain.id, "alice", "known seasonal effect")
    assert retrain.id not in {p.incident_id for p, _ in plan_only([retrain], wf.world)}
    [outcome] = remediate(
        [scan(world)["drift_with_performance_drop"]], wf.world, wf.graph, wf.proposer
    )
    assert (
        outcome.skipped.startswith("closed at ") and "by alice: known seasonal" in outcome.skipped
    )
    assert wf.world.store.runs() == [] and wf.world.cluster.jobs() == []
    next_window(world)
    recurred = scan(world)["drift_with_performance_drop"]
    assert recurred.id == f"{retrain.id}-2"
    assert [p.incident_id for p, _ in plan_only([recurred], wf.world)] == [recurred.id]


def test_ack_and_close_from_the_cli_are_audited(
    remediation_seed: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fails on main: `lotsen incidents` did not exist."""
    data = copy_data_dir(remediation_seed, tmp_path, monkeypatch)

    def lotsen(*args: str) -> tuple[int, str, str]:
        return run_lotsen(capsys, monkeypatch, *args)

    code, _, err = lotsen("remediate", "--auto", "--as", "bob", "--json")
    assert code == 0, err
    code, out, err = lotsen("incidents", "list", "--json")
    assert code == 0, err
    listed = {i["kind"]: i for i in json.loads(out)}
    upstream, rolled_back = listed["data_quality"], listed["bad_deploy"]
    assert (upstream["status"], rolled_back["status"]) == ("open", "resolved")
    code, out, err = lotsen("incidents", "ack", upstream["id"], "--as", "alice", "--note", "on it")
    assert code == 0 and f"{upstream['id']}: acknowledged by alice" in out, err
    code, _, err = lotsen("incidents", "ack", upstream["id"], "--as", "carol")
    assert code == 2 and err.count("\n") == 1 and "acknowledged since" in err and "alice" in err
    code, _, err = lotsen("incidents", "ack", rolled_back["id"], "--as", "alice")
    assert code == 2 and err.count("\n") == 1
    assert f"incident {rolled_back['id']} is resolved since" in err and "by bob" in err
    code, _, err = lotsen("incidents", "close", upstream["id"], "--as", "alice")
    assert code == 2 and "--note" in err  # closing says why
    code, out, err = lotsen(
        "incidents", "close", upstream["id"], "--as", "alice", "--note", "pipeline fixed"
    )
    assert code == 0, err
    code, _, err = lotsen("incidents", "close", upstream["id"], "--as", "alice", "--note", "x")
    assert code == 2 and "closed is final" in err
    code, out, _ = lotsen("incidents", "show", upstream["id"], "--json")
    shown = json.loads(out)
    assert (shown["status"], shown["changed_by"], shown["acknowledged_by"]) == (
        "closed",
        "alice",
        "alice",
    )
    history = [(e["status"], e["actor"]) for e in shown["history"]]
    assert history == [
        ("open", "lotsen-monitor"),
        ("open", "bob"),  # the run opened a data incident for the pipeline's owner
        ("acknowledged", "alice"),
        ("closed", "alice"),
    ]
    assert "data incident opened for" in shown["history"][1]["note"]
    code, out, _ = lotsen("incidents", "list", "--status", "closed", "--json")
    assert [i["id"] for i in json.loads(out)] == [upstream["id"]]
    code, _, err = lotsen("incidents", "list", "--status", "fixed")
    assert code == 2 and "--status must be one of" in err
    # the data incident opened for the pipeline owner is closed with it
    store = RemediationStore(data / "world" / "remediation.db")
    assert {d.id: d.status for d in store.data_incidents()}[upstream["id"]] == "closed"
    store.close()
    with World(Settings(data_dir=data)) as world:
        audited = [
            (r.kind, r.actor, r.data.get("note"))
            for r in world.audit.records(incident=upstream["id"])
        ][-2:]
        assert audited == [
            ("incident_acknowledged", "alice", "on it"),
            ("incident_closed", "alice", "pipeline fixed"),
        ]
        assert world.audit.verify().ok
    # the plan says what was done before instead of planning it again
    code, out, _ = lotsen("remediate")
    assert code == 0 and f"{rolled_back['id']}: not planned again, already rolled back" in out


def test_transitions_are_checked(tmp_path: Path) -> None:
    """The status table: closed is final, only an open incident is acknowledged, a run that
    ends without a fix gives an acknowledged incident back as acknowledged."""
    store = RemediationStore(tmp_path / "remediation.db")
    incidents: IncidentStore = store.incidents
    now = datetime(2026, 11, 2, tzinfo=UTC)
    seen = Incident(
        id="inc-x",
        key="inc-x",
        kind="covariate_drift",
        probable_cause="c",
        models=["m"],
        window_start=now,
    )
    [observed] = incidents.observe([seen], now)
    assert observed.id == "inc-x"
    incidents.transition("inc-x", "acknowledged", "alice", now)
    incidents.follow_run("inc-x", "remediating", "bob", now, "watch")
    with pytest.raises(ConflictError, match=r"is remediating since .* by bob; it cannot be ack"):
        incidents.transition("inc-x", "acknowledged", "carol", now)
    incidents.follow_run("inc-x", "open", "bob", now, "watch")
    assert incidents.get("inc-x").status == "acknowledged"
    incidents.transition("inc-x", "closed", "alice", now, "noise")
    incidents.follow_run("inc-x", "resolved", "bob", now, "watch")  # ignored: closed is final
    assert incidents.get("inc-x").status == "closed"
    # the same window again: still the closed occurrence; a later one: a new occurrence
    assert [i.id for i in incidents.observe([seen], now)] == ["inc-x"]
    later = seen.model_copy(update={"window_start": now + timedelta(days=1)})
    assert [i.id for i in incidents.observe([later], now)] == ["inc-x-2"]
    store.close()


def test_an_incident_remediated_before_ids_were_stable_keeps_its_id(
    world: World, wf: Workflow
) -> None:
    """Upgrading must not remediate the current window again: a run recorded under the
    window-hashed id of the commit before is found, and its incident keeps that id."""
    bad = scan(world)["bad_deploy"]
    seen = f"{bad.kind}|{bad.pipeline}|{','.join(bad.models)}|{bad.window_start.isoformat()}"
    legacy = f"inc-{hashlib.sha1(seen.encode()).hexdigest()[:10]}"
    fresh = wf.world.store
    fresh.start_run(f"rem-{legacy[4:]}", legacy, bad.kind, "bob", world.clock())
    fresh.set_run(f"rem-{legacy[4:]}", "done", world.clock(), "champion rolled back")
    with closing(sqlite3.connect(world.files.remediation_db)) as conn, conn:
        conn.execute("DELETE FROM incidents")  # as migration 3 leaves an older store
    rescanned = scan(world)["bad_deploy"]
    assert rescanned.id == legacy
    assert rescanned.id not in {p.incident_id for p, _ in plan_only([rescanned], wf.world)}
