"""`lotsen twin ...`: drive the embedded cluster twin (clock, jobs, faults, reset)."""

import hashlib
from datetime import timedelta
from typing import Annotated

import typer

from lotsen.cli import checks
from lotsen.cli.context import console, print_json, settings_of, world_of
from lotsen.cli.render import jobs_table
from tools.cluster.sim import SimCluster
from tools.domain import GpuRequest, GpuSharing, GpuType, JobSpec
from tools.errors import ConfigError

app = typer.Typer(help="Drive the embedded twin: clock, jobs, fault injection, reset.")
fault_app = typer.Typer(help="Inject a fault (recorded as ground truth).")
app.add_typer(fault_app, name="fault")


def _twin(ctx: typer.Context) -> SimCluster:
    settings = settings_of(ctx)
    if settings.cluster != "sim":
        raise ConfigError("`lotsen twin` drives the embedded twin only; unset LOTSEN_CLUSTER")
    cluster = world_of(ctx).cluster
    assert isinstance(cluster, SimCluster)
    return cluster


@app.command("advance")
def advance(
    ctx: typer.Context,
    hours: Annotated[float, typer.Option(help="Hours to move the virtual clock.")] = 1.0,
) -> None:
    """Move the virtual clock: jobs finish, queued jobs start, energy accrues."""
    hours = checks.finite("--hours", hours, ge=0, le=checks.MAX_HOURS)
    twin = _twin(ctx)
    finished = twin.advance(timedelta(hours=hours))
    console.print(f"Clock now {twin.now():%Y-%m-%d %H:%M}; {len(finished)} job(s) finished.")


@app.command("reset")
def reset(ctx: typer.Context) -> None:
    """Return the twin to its seeded state (faults, jobs and clock undone)."""
    _twin(ctx).reset()
    console.print("Twin reset to its seed.")


@app.command("submit-job")
def submit_job(
    ctx: typer.Context,
    namespace: Annotated[str, typer.Option(help="Namespace to run in.")],
    model: Annotated[str, typer.Option(help="Model the job retrains.")],
    gpu: Annotated[GpuType, typer.Option(help="GPU type.")] = GpuType.A100,
    mig_profile: Annotated[
        str | None, typer.Option(help="MIG profile; whole GPU if unset.")
    ] = None,
    hours: Annotated[float, typer.Option(help="Virtual run time.")] = 1.0,
    key: Annotated[str | None, typer.Option(help="Idempotency key (default: derived).")] = None,
) -> None:
    """Submit a retraining job to the twin (admitted within quota, else queued)."""
    hours = checks.finite("--hours", hours, gt=0, le=checks.MAX_HOURS)
    mig_profile = checks.name_or_none("--mig-profile", mig_profile)
    key = checks.name_or_none("--key", key)
    twin = _twin(ctx)
    world_of(ctx).registry.get_model(model)  # a job for a model that does not exist: refused
    twin.namespace(namespace)
    sharing = GpuSharing.MIG if mig_profile else GpuSharing.EXCLUSIVE
    spec = JobSpec(
        namespace=namespace,
        model=model,
        gpu=GpuRequest(gpu_type=gpu, sharing=sharing, mig_profile=mig_profile),
        duration_s=hours * 3600,
        idempotency_key=key or hashlib.sha256(f"{namespace}/{model}".encode()).hexdigest()[:16],
        tolerations=["lotsen.io/env", "lotsen.io/training"],
    )
    console.print(jobs_table([twin.submit_job(spec)]))


@app.command("faults")
def faults(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Faults injected since seeding."""
    found = _twin(ctx).faults()
    if as_json:
        print_json(found)
        return
    for f in found:
        detail = ", ".join(f"{k}={v}" for k, v in f.detail.items() if v)
        console.print(f"#{f.id} {f.at:%Y-%m-%d %H:%M} {f.kind} {f.target}: {detail}")


@fault_app.command("node-loss")
def node_loss(ctx: typer.Context, node: str) -> None:
    """Take a node down; its replicas move if there is room, its jobs are requeued."""
    fault = _twin(ctx).inject_node_loss(node)
    console.print(f"Node {node} lost; evicted: {fault.detail['replicas_evicted_from'] or 'none'}")


@fault_app.command("recover")
def recover(ctx: typer.Context, node: str) -> None:
    """Bring a lost node back."""
    _twin(ctx).recover_node(node)
    console.print(f"Node {node} is back.")


@fault_app.command("quota-cut")
def quota_cut(ctx: typer.Context, namespace: str, gpus: float) -> None:
    """Lower a namespace's GPU quota to GPUS (GPU-equivalents)."""
    gpus = checks.finite("GPUS", gpus, ge=0)
    twin = _twin(ctx)
    current = twin.namespace(namespace).gpu_quota
    if current is not None and gpus > current:
        raise ConfigError(f"a quota cut lowers the quota: {namespace} has {current:g} GPU now")
    fault = twin.inject_quota_cut(namespace, gpus)
    console.print(f"Quota of {namespace}: {fault.detail['old']} -> {fault.detail['new']} GPU")


@fault_app.command("noisy-neighbour")
def noisy_neighbour(
    ctx: typer.Context,
    node: str,
    gpu: int,
    factor: Annotated[float, typer.Option(help="Latency slowdown factor.")] = 3.0,
) -> None:
    """Slow one GPU down; deployments on it see higher latency."""
    factor = checks.finite("--factor", factor, ge=1)
    fault = _twin(ctx).inject_noisy_neighbour(node, gpu, factor)
    console.print(
        f"GPU {gpu} on {node} slowed x{factor}; hit: {fault.detail['deployments'] or 'none'}"
    )
