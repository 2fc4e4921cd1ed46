"""Read endpoints: fleet, models, audit, compliance, capacity, eval runs (viewers)."""

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from agents.capacity.plan import CapacityPlan
from evals.runner import RunResult
from lotsen.service.api.common import ERRORS, Operator, Viewer, with_world
from memory.audit import AuditRecord
from memory.audit_verify import VerifyResult
from tools.capacity.usage import CapacityReport
from tools.domain.models import AliasChange, ModelVersion, RegisteredModel
from tools.errors import NotFoundError
from tools.fleet.status import FleetStatus
from tools.policy.evaluate import Finding
from world.world import World

router = APIRouter(responses=ERRORS)
RUN_ID = r"^[A-Za-z0-9._-]{1,100}$"


class ModelDetail(BaseModel):
    """One model: registry entry, versions, alias moves."""

    model: RegisteredModel
    versions: list[ModelVersion]
    alias_history: list[AliasChange]


class PolicyPosture(BaseModel):
    """One policy's finding counts."""

    policy_id: str
    title: str
    passed: int
    failed: int
    errored: int


class Posture(BaseModel):
    """The platform's compliance posture."""

    at: str
    policies: list[PolicyPosture]
    failing: int


class EvalRunSummary(BaseModel):
    """One eval run, listed."""

    id: str
    started_at: str
    finished_at: str
    trials: int
    tiers: list[str]
    cases: int
    passed: int


@router.get("/fleet", summary="Fleet status per environment", tags=["fleet"])
def fleet(request: Request, who: Viewer) -> FleetStatus:
    """Models, deployments and GPUs per environment."""
    from tools.fleet.status import fleet_status

    return with_world(request, lambda w: fleet_status(w.registry, w.cluster, w.capacity))


@router.get("/models", summary="Registered models", tags=["fleet"])
def models(request: Request, who: Viewer) -> list[RegisteredModel]:
    """Every registered model with its aliases and tag contract."""
    return with_world(request, lambda w: w.registry.list_models())


@router.get("/models/{name}", summary="One model", tags=["fleet"])
def model(request: Request, name: str, who: Viewer) -> ModelDetail:
    """A model's registry entry, versions and alias history (404: unknown)."""

    def read(w: World) -> ModelDetail:
        found = w.registry.get_model(name)
        return ModelDetail(
            model=found,
            versions=w.registry.list_versions(name),
            alias_history=w.registry.alias_history(name),
        )

    return with_world(request, read)


@router.get("/audit", summary="Audit records", tags=["audit"])
def audit(
    request: Request,
    who: Viewer,
    model: str | None = None,
    incident: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[AuditRecord]:
    """The newest `limit` records, oldest first (optionally about a model or incident)."""
    return with_world(request, lambda w: w.audit.records(model=model, incident=incident)[-limit:])


@router.get("/audit/verify", summary="Verify the audit chain", tags=["audit"])
def audit_verify(request: Request, who: Viewer) -> VerifyResult:
    """Chain links, hashes, signatures and witnesses of the whole log."""
    return with_world(request, lambda w: w.audit.verify())


@router.get("/compliance", summary="Compliance posture per policy", tags=["compliance"])
def compliance(request: Request, who: Viewer) -> Posture:
    """Pass/fail/error counts per policy at the world's clock."""
    from world.compliance import scan

    report = with_world(request, scan)
    summary = report.summary()
    return Posture(
        at=report.at.isoformat(),
        policies=[
            PolicyPosture(
                policy_id=p.id,
                title=p.title,
                passed=summary[p.id].get("pass", 0),
                failed=summary[p.id].get("fail", 0),
                errored=summary[p.id].get("error", 0),
            )
            for p in report.policies
        ],
        failing=len(report.failures()),
    )


@router.get("/compliance/findings", summary="Compliance findings", tags=["compliance"])
def findings(
    request: Request,
    who: Viewer,
    subject: Annotated[str | None, Query(max_length=300)] = None,
    status: Literal["pass", "fail", "error"] | None = None,
) -> list[Finding]:
    """Findings (about one subject, of one status), worst first for failures."""
    from world.compliance import scan

    report = with_world(request, lambda w: scan(w, subject))
    found = report.findings if status == "pass" or status is None else report.failures()
    return [f for f in found if status is None or f.status == status]


@router.get("/capacity/report", summary="Capacity: allocation vs use", tags=["capacity"])
def capacity_report(request: Request, who: Viewer) -> CapacityReport:
    """Per pool, environment and namespace: GPUs, busy, idle GPU-hours, cost, CO2e."""
    from tools.capacity.usage import capacity_report as build

    return with_world(request, lambda w: build(w.cluster, w.capacity))


@router.get("/capacity/plans", summary="The latest capacity plan", tags=["capacity"])
def capacity_plan(request: Request, who: Viewer) -> CapacityPlan:
    """The plan `lotsen capacity plan` (or `POST /capacity/plans`) saved last (404: none)."""
    from world.capacity import load_plan

    return with_world(request, load_plan)


@router.post(
    "/capacity/plans", summary="Build and save a capacity plan", tags=["capacity"], status_code=201
)
def build_capacity_plan(request: Request, who: Operator) -> CapacityPlan:
    """Packing, scale-to-zero, right-sizing, job windows; saved, nothing changes (tier 0)."""
    from agents.capacity.plan import build_plan
    from world.capacity import save_plan

    def build(w: World) -> CapacityPlan:
        plan = build_plan(w.cluster, w.capacity, w.user(who.name, "operator"))
        save_plan(w, plan)
        return plan

    return with_world(request, build)


@router.get("/evals/runs", summary="Eval runs", tags=["evals"])
def eval_runs(request: Request, who: Viewer) -> list[EvalRunSummary]:
    """Runs under `<data_dir>/evals/runs`, newest first."""
    from evals.report import load_result

    root = _runs_root(request)
    out = []
    for folder in sorted(root.glob("*/results.json"), reverse=True):
        result = load_result(folder)
        out.append(
            EvalRunSummary(
                id=folder.parent.name,
                started_at=result.started_at.isoformat(),
                finished_at=result.finished_at.isoformat(),
                trials=result.trials,
                tiers=result.tiers,
                cases=len(result.cases),
                passed=sum(1 for c in result.cases if c.passed),
            )
        )
    return out


@router.get("/evals/runs/{run_id}", summary="One eval run's results", tags=["evals"])
def eval_run(request: Request, run_id: str, who: Viewer) -> RunResult:
    """Every case and the metrics of a run (404: unknown run)."""
    from evals.report import load_result

    return load_result(_run_folder(request, run_id))


@router.get(
    "/evals/runs/{run_id}/report",
    summary="One eval run's report (Markdown)",
    tags=["evals"],
    response_class=PlainTextResponse,
)
def eval_report(request: Request, run_id: str, who: Viewer) -> str:
    """The run's report.md (404: unknown run or no report)."""
    report = _run_folder(request, run_id) / "report.md"
    if not report.exists():
        raise NotFoundError(f"eval run {run_id!r} has no report; `lotsen eval report` writes it")
    return report.read_text(encoding="utf-8")


def _runs_root(request: Request) -> Path:
    world = request.app.state.world
    assert isinstance(world, World)
    return world.settings.data_dir / "evals" / "runs"


def _run_folder(request: Request, run_id: str) -> Path:
    import re

    folder = _runs_root(request) / run_id
    if not re.fullmatch(RUN_ID[1:-1], run_id) or not (folder / "results.json").exists():
        raise NotFoundError(f"unknown eval run {run_id!r}; GET /api/v1/evals/runs lists them")
    return folder
