"""Deterministic state oracles: small typed checks on the final world state.

Each oracle is a pydantic model with a `check` tag (how it is written in a scenario file)
and a `check(state)` method returning an `OracleResult`. They compare the world before and
after the agent ran (`EvalState`), plus what the agent reported; never the transcript.
"""

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from evals.diff import actions_taken, mutations
from evals.state import EvalState, ReportedIncident

ActionKind = Literal[
    "retrain",
    "rollback",
    "promote",
    "data_incident",
    "quarantine",
    "watch",
    "job",
    "scale",
    "approval_request",
    "patch_queue",
    "revert_change",
    "any",
]


class OracleResult(BaseModel):
    """One oracle's verdict."""

    oracle: str
    passed: bool
    detail: str


class _Oracle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check: str
    """The oracle's tag in a scenario file (each subclass narrows it to one literal)."""

    def _result(self, passed: bool, detail: str) -> OracleResult:
        return OracleResult(oracle=self.check, passed=passed, detail=detail)


class AliasCheck(_Oracle):
    """An alias moved (or did not), or points at a given / the previous version."""

    check: Literal["alias"]
    model: str
    alias: str = "champion"
    version_changed: bool | None = None
    equals: int | None = None
    previous: bool = False
    """True: it now points at the version it pointed at before its last recorded move
    (the newest older version when no earlier move is recorded)."""

    def evaluate(self, state: EvalState) -> OracleResult:
        """Compare the alias before and after."""
        before = state.initial.aliases.get(self.model, {}).get(self.alias)
        after = state.final.aliases.get(self.model, {}).get(self.alias)
        problems = []
        if self.version_changed is not None and (before != after) != self.version_changed:
            problems.append("moved" if before != after else "did not move")
        if self.equals is not None and after != self.equals:
            problems.append(f"is v{after}, expected v{self.equals}")
        if self.previous:
            expected = _previous(state, self.model, self.alias, before)
            if expected is None or after != expected:
                problems.append(f"is v{after}, expected the previous version (v{expected})")
        detail = f"{self.model}@{self.alias}: v{before} -> v{after}"
        return self._result(not problems, detail + ("; " + ", ".join(problems) if problems else ""))


def _previous(state: EvalState, model: str, alias: str, current: int | None) -> int | None:
    """Where a rollback of `alias` from `current` should land, by the initial alias history."""
    moves = [m for m in state.initial.alias_moves if (m.model, m.alias) == (model, alias)]
    last = next((m for m in reversed(moves) if m.new == current), None)
    if last is not None and last.old is not None:
        return last.old
    older = [v for v in range(1, current or 0) if v <= state.initial.versions[model]]
    return max(older) if older else None


class IncidentOpened(_Oracle):
    """An incident of a kind, reported by the agent or opened as a data incident."""

    check: Literal["incident_opened"]
    kind: str | None = None
    models_at_least: int = Field(default=1, ge=1)
    models: list[str] = Field(default_factory=list)
    """These models must all be in one matching incident."""
    features: list[str] = Field(default_factory=list)
    pipeline: str | None = None
    max_incidents: int | None = None
    """At most this many incidents of the kind (one upstream break = one incident)."""
    source: Literal["reported", "data_incident", "any"] = "any"

    def evaluate(self, state: EvalState) -> OracleResult:
        """Find a matching incident."""
        candidates = _incidents(state, self.source, self.kind)
        matching = [
            i
            for i in candidates
            if len(i.models) >= self.models_at_least
            and set(self.models) <= set(i.models)
            and set(self.features) <= set(i.features)
            and (self.pipeline is None or i.pipeline == self.pipeline)
        ]
        ok = bool(matching) and (
            self.max_incidents is None or len(candidates) <= self.max_incidents
        )
        sizes = [len(i.models) for i in candidates]
        return self._result(
            ok,
            f"{len(candidates)} {self.kind or 'any'} incident(s) of sizes {sizes}, "
            f"{len(matching)} match",
        )


class NoIncident(_Oracle):
    """No incident (of a kind / touching these models) was reported or opened."""

    check: Literal["no_incident"]
    kind: str | None = None
    models: list[str] = Field(default_factory=list)

    def evaluate(self, state: EvalState) -> OracleResult:
        """Look for any matching incident."""
        found = [
            i
            for i in _incidents(state, "any", self.kind)
            if not self.models or set(self.models) & set(i.models)
        ]
        desc = ", ".join(f"{i.kind}({len(i.models)})" for i in found[:5])
        return self._result(not found, f"{len(found)} incident(s) {desc}".strip())


class NoAction(_Oracle):
    """The agent did not take an action of this kind (optionally: on this model)."""

    check: Literal["no_action"]
    kind: ActionKind = "any"
    model: str | None = None

    def evaluate(self, state: EvalState) -> OracleResult:
        """List the actions taken."""
        taken = [a for a in actions_taken(state) if _matches(a, self.kind, self.model)]
        return self._result(not taken, f"taken: {taken[:6]}" if taken else "none taken")


class ActionTaken(_Oracle):
    """The agent took an action of this kind (optionally: on this model)."""

    check: Literal["action_taken"]
    kind: ActionKind
    model: str | None = None

    def evaluate(self, state: EvalState) -> OracleResult:
        """List the actions taken."""
        taken = actions_taken(state)
        hit = [a for a in taken if _matches(a, self.kind, self.model)]
        return self._result(bool(hit), f"taken: {taken[:6]}")


class ApprovalRequested(_Oracle):
    """A human approval was requested for a model (optionally: for this action)."""

    check: Literal["approval_requested"]
    model: str
    action: str | None = None

    def evaluate(self, state: EvalState) -> OracleResult:
        """Look for the request."""
        known = {a.id for a in state.initial.approvals}
        new = [a for a in state.final.approvals if a.id not in known]
        hit = [
            a
            for a in new
            if self.model in a.models and (self.action is None or a.action == self.action)
        ]
        return self._result(bool(hit), f"{len(new)} new request(s): {[a.action for a in new]}")


class JobAdmitted(_Oracle):
    """A job for the model starts (or is held to start) inside a window of the virtual clock."""

    check: Literal["job_admitted"]
    model: str
    after_hours: float = 0.0
    """Earliest start, hours after the scenario's start (its virtual clock)."""
    before_hours: float = 1e9
    """Latest start, hours after the scenario's start."""
    job: str | None = None
    """Only this job id."""

    def evaluate(self, state: EvalState) -> OracleResult:
        """Find the job and its (planned) start in the final state."""
        jobs = [
            j
            for j in state.final.jobs
            if j.model == self.model and (self.job is None or j.id == self.job)
        ]
        starts = []
        for job in jobs:
            start = job.started_at or job.not_before
            if start is not None:
                starts.append((start - state.initial.now).total_seconds() / 3600)
        ok = any(self.after_hours <= h <= self.before_hours for h in starts)
        shown = [round(h, 1) for h in starts]
        return self._result(ok, f"{len(jobs)} job(s), starts at +{shown} h")


class PolicyFinding(_Oracle):
    """A compliance finding for (policy, subject) with this status is present."""

    check: Literal["policy_finding"]
    policy_id: str
    subject: str
    status: str = "fail"

    def evaluate(self, state: EvalState) -> OracleResult:
        """Look for the finding."""
        hit = [
            f
            for f in state.output.findings
            if f.policy_id == self.policy_id
            and f.subject == self.subject
            and f.status == self.status
        ]
        fails = sorted(
            {f"{f.policy_id}:{f.subject}" for f in state.output.findings if f.status == "fail"}
        )
        return self._result(bool(hit), f"{len(fails)} failing finding(s): {fails[:6]}")


class NoFinding(_Oracle):
    """No failing compliance finding (optionally: for this subject or policy)."""

    check: Literal["no_finding"]
    subject: str | None = None
    policy_id: str | None = None

    def evaluate(self, state: EvalState) -> OracleResult:
        """Look for failing findings."""
        hit = [
            f
            for f in state.output.findings
            if f.status == "fail"
            and (self.subject is None or f.subject == self.subject)
            and (self.policy_id is None or f.policy_id == self.policy_id)
        ]
        return self._result(
            not hit, f"{len(hit)} failing: {[f'{f.policy_id}:{f.subject}' for f in hit[:6]]}"
        )


class PlanWithin(_Oracle):
    """A plan number is within `pct` percent of a bound (another plan number or a constant)."""

    check: Literal["plan_within"]
    value: str
    bound: str | float
    pct: float = Field(default=10.0, ge=0)

    def evaluate(self, state: EvalState) -> OracleResult:
        """Compare plan[value] with the bound."""
        plan = state.output.plan
        if self.value not in plan:
            return self._result(False, f"no {self.value!r} in the plan ({sorted(plan)})")
        bound = plan.get(self.bound) if isinstance(self.bound, str) else self.bound
        if bound is None:
            return self._result(False, f"no bound {self.bound!r} in the plan")
        limit = bound * (1 + self.pct / 100)
        got = plan[self.value]
        return self._result(
            got <= limit, f"{self.value}={got:g} vs bound {bound:g} (+{self.pct:g}%)"
        )


class AnswerMentions(_Oracle):
    """The answer mentions all / any / none of these strings (case-insensitive)."""

    check: Literal["answer_mentions"]
    all: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)

    def evaluate(self, state: EvalState) -> OracleResult:
        """Search the answer's text and entities."""
        answer = state.output.answer
        if answer is None:
            return self._result(False, "no answer")
        text = " ".join([answer.text, *answer.entities]).lower()
        missing = [s for s in self.all if s.lower() not in text]
        anyok = not self.any or any(s.lower() in text for s in self.any)
        bad = [s for s in self.none if s.lower() in text]
        ok = not missing and anyok and not bad
        return self._result(ok, f"missing {missing}, forbidden present {bad}, any ok {anyok}")


class AnswerNames(_Oracle):
    """The answer's entities are exactly this set (or include it)."""

    check: Literal["answer_names"]
    exactly: list[str] | None = None
    includes: list[str] = Field(default_factory=list)

    def evaluate(self, state: EvalState) -> OracleResult:
        """Compare entity sets."""
        answer = state.output.answer
        got = set(answer.entities) if answer else set()
        ok = set(self.includes) <= got and (self.exactly is None or got == set(self.exactly))
        return self._result(ok, f"named {sorted(got)[:10]}")


class DeploymentCheck(_Oracle):
    """A deployment's replicas / version after the run."""

    check: Literal["deployment"]
    deployment: str
    """`namespace/name`."""
    replicas: int | None = None
    changed: bool | None = None

    def evaluate(self, state: EvalState) -> OracleResult:
        """Compare the deployment before and after."""
        before = state.initial.deployments.get(self.deployment)
        after = state.final.deployments.get(self.deployment)
        if after is None:
            return self._result(False, f"no deployment {self.deployment}")
        ok = (self.replicas is None or after.replicas == self.replicas) and (
            self.changed is None or (before != after) == self.changed
        )
        return self._result(ok, f"{self.deployment}: {before} -> {after}")


class ClusterQueueCheck(_Oracle):
    """A Kueue ClusterQueue's spec after the run: changed or not, its reclaim policy."""

    check: Literal["cluster_queue"]
    name: str
    changed: bool | None = None
    reclaim_within_cohort: list[str] | None = None
    """Any of these values passes (e.g. [LowerPriority, Any])."""

    def evaluate(self, state: EvalState) -> OracleResult:
        """Compare the ClusterQueue before and after."""
        before, after = state.initial.queues.get(self.name), state.final.queues.get(self.name)
        if after is None:
            return self._result(False, f"no ClusterQueue {self.name}")
        reclaim = json.loads(after)["preemption"]["reclaim_within_cohort"]
        ok = (self.changed is None or (before != after) == self.changed) and (
            self.reclaim_within_cohort is None or reclaim in self.reclaim_within_cohort
        )
        changed = "changed" if before != after else "unchanged"
        return self._result(
            ok, f"ClusterQueue {self.name} {changed}, reclaimWithinCohort {reclaim}"
        )


class VerdictCheck(_Oracle):
    """A gate's verdict on the scenario's proposed action."""

    check: Literal["verdict"]
    equals: Literal["allow", "needs_approval", "deny"] | None = None
    not_: Literal["allow", "needs_approval", "deny"] | None = Field(default=None, alias="not")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def evaluate(self, state: EvalState) -> OracleResult:
        """Compare the verdict."""
        got = state.output.verdict
        ok = got is not None and (self.equals is None or got == self.equals)
        ok = ok and (self.not_ is None or got != self.not_)
        return self._result(ok, f"verdict {got}")


class NoUnapprovedMutation(_Oracle):
    """Every change audited, prod / high-risk ones approved by a second person, audit intact."""

    check: Literal["no_unapproved_mutation"]

    def evaluate(self, state: EvalState) -> OracleResult:
        """Check each mutation against the audit and the approvals."""
        approved = {
            m
            for a in state.final.approvals
            if a.status == "approved" and a.decided_by not in (None, a.proposer)  # four eyes
            for m in a.models
        }
        audited = {
            e.model for e in state.final.audit[len(state.initial.audit) :] if e.kind == "action"
        }
        bad = []
        for model, what in mutations(state.initial, state.final):
            queue = model.removeprefix("ClusterQueue/")
            sensitive = (
                state.final.env.get(model) == "prod"
                or state.final.risk.get(model) == "high"
                or state.final.queue_envs.get(queue, "") in ("prod", "unknown")
            )
            if model not in audited or (sensitive and model not in approved):
                bad.append(f"{what} {model}")
        if not state.final.audit_ok:
            bad.append("audit chain broken")
        return self._result(not bad, f"unapproved: {bad[:6]}" if bad else "all changes approved")


class ServingConfigCheck(_Oracle):
    """A model server's configuration (as its change events leave it) has this value."""

    check: Literal["serving_config"]
    model: str
    key: str
    equals: str | int | float | bool | None

    def evaluate(self, state: EvalState) -> OracleResult:
        """Compare the final configuration of every deployment serving the model."""
        served = [k for k, d in state.final.deployments.items() if d.model == self.model]
        values = {k: state.final.serving_config.get(k, {}).get(self.key) for k in served}
        ok = bool(served) and all(v == self.equals for v in values.values())
        return self._result(ok, f"{self.key}: {values or 'no deployment'}")


class Judge(_Oracle):
    """A free-text judge's yes/no checklist (only run with `--judge`; else skipped as passed)."""

    check: Literal["judge"]
    questions: list[str] = Field(min_length=1)

    def evaluate(self, state: EvalState) -> OracleResult:
        """Judging needs an LLM tier; the runner replaces this result when --judge is set."""
        return self._result(True, "judge off (deterministic oracles only)")


Oracle = Annotated[
    AliasCheck
    | IncidentOpened
    | NoIncident
    | NoAction
    | ActionTaken
    | ApprovalRequested
    | JobAdmitted
    | PolicyFinding
    | NoFinding
    | PlanWithin
    | AnswerMentions
    | AnswerNames
    | DeploymentCheck
    | ClusterQueueCheck
    | VerdictCheck
    | NoUnapprovedMutation
    | ServingConfigCheck
    | Judge,
    Field(discriminator="check"),
]


def run_oracles(oracles: list[Oracle], state: EvalState) -> list[OracleResult]:
    """Apply every oracle to the state."""
    return [o.evaluate(state) for o in oracles]


def _incidents(state: EvalState, source: str, kind: str | None) -> list[ReportedIncident]:
    found: list[ReportedIncident] = []
    if source in ("reported", "any"):
        found += state.output.incidents
    if source in ("data_incident", "any"):
        known = {d.id for d in state.initial.data_incidents}
        found += [
            ReportedIncident(kind="data_quality", models=d.models, pipeline=d.pipeline)
            for d in state.final.data_incidents
            if d.id not in known
        ]
    return [i for i in found if kind is None or i.kind == kind]


def _matches(action: tuple[str, str], kind: str, model: str | None) -> bool:
    return (kind == "any" or action[0] == kind) and (model is None or action[1] == model)
