"""What a run changed: the difference between the world before and after, by model.

`mutations` lists changes to aliases, versions, deployments, jobs and quotas (what the
no-unapproved-mutation oracle checks against approvals and the audit); `actions_taken`
names them by kind (retrain, rollback, promote, scale, job, data incident, watch, ...).
"""

from evals.state import EvalState, JobState, WorldSnapshot


def mutations(initial: WorldSnapshot, final: WorldSnapshot) -> list[tuple[str, str]]:
    """(model, what) for every change to aliases, versions, deployments, jobs and quotas."""
    changes = [
        (m.model, f"alias {m.alias} v{m.old}->v{m.new} on")
        for m in final.alias_moves[len(initial.alias_moves) :]
    ]
    changes += [(model, "new version of") for model in _new_versions(initial, final)]
    changes += [
        (dep.model, f"deployment {key} changed for")
        for key, dep in final.deployments.items()
        if initial.deployments.get(key) != dep
    ]
    changes += [
        (job.model, f"{what} job {job.id} for") for job, what in _job_changes(initial, final)
    ]
    changes += [
        (ns, "quota of") for ns, quota in final.quotas.items() if initial.quotas.get(ns) != quota
    ]
    changes += [(queue, "Kueue spec of") for queue in changed_queues(initial, final)]
    changes += [
        (e.model or e.subject, f"serving change {e.id} of")
        for e in final.serving_events[len(initial.serving_events) :]
    ]
    return changes


def changed_queues(initial: WorldSnapshot, final: WorldSnapshot) -> list[str]:
    """`ClusterQueue/<name>` of every ClusterQueue whose spec changed."""
    return [
        f"ClusterQueue/{name}"
        for name, spec in final.queues.items()
        if initial.queues.get(name) != spec
    ]


def _new_versions(initial: WorldSnapshot, final: WorldSnapshot) -> list[str]:
    return [m for m, n in final.versions.items() if n > initial.versions.get(m, 0)]


def _job_changes(initial: WorldSnapshot, final: WorldSnapshot) -> list[tuple[JobState, str]]:
    """New jobs ("new") and jobs whose hold moved ("rescheduled")."""
    known = {j.id: j for j in initial.jobs}
    out = []
    for job in final.jobs:
        if job.id not in known:
            out.append((job, "new"))
        elif known[job.id].not_before != job.not_before:
            out.append((job, "rescheduled"))
    return out


def actions_taken(state: EvalState) -> list[tuple[str, str]]:
    """(kind, model) of everything the agent did, derived from the state difference."""
    ini, fin = state.initial, state.final
    taken = [
        ("rollback" if m.new < m.old else "promote", m.model)
        for m in fin.alias_moves[len(ini.alias_moves) :]
        if m.alias == "champion" and m.old is not None and m.new is not None
    ]
    taken += [("retrain", model) for model in _new_versions(ini, fin)]
    for job, what in _job_changes(ini, fin):
        taken.append(("job", job.model))
        if what == "new" and job.kind == "retrain":
            taken.append(("retrain", job.model))
    taken += [
        ("scale", dep.model)
        for key, dep in fin.deployments.items()
        if (old := ini.deployments.get(key)) is not None
        and (old.replicas, old.gpu) != (dep.replicas, dep.gpu)
    ]
    taken += [("patch_queue", queue) for queue in changed_queues(ini, fin)]
    taken += [
        ("revert_change", e.model or e.subject)
        for e in fin.serving_events[len(ini.serving_events) :]
    ]
    return sorted(set(taken + _records_added(ini, fin)))


def _records_added(ini: WorldSnapshot, fin: WorldSnapshot) -> list[tuple[str, str]]:
    """Data incidents, quarantine, watch list and approval requests added by the run."""
    known = {d.id for d in ini.data_incidents}
    added = [
        ("data_incident", m) for d in fin.data_incidents if d.id not in known for m in d.models
    ]
    added += [("quarantine", m) for m in fin.quarantined if m not in ini.quarantined]
    added += [("watch", m) for m in fin.watched if m not in ini.watched]
    known_approvals = {a.id for a in ini.approvals}
    added += [
        ("approval_request", m)
        for a in fin.approvals
        if a.id not in known_approvals
        for m in a.models
    ]
    return added
