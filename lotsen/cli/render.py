"""Rich renderings of fleet and cluster objects."""

from rich.table import Table

from tools.domain import Deployment, Job, Namespace, Node, RegisteredModel
from tools.fleet.status import FleetStatus
from tools.registry.tag_contract import env_label, risk_label


def status_tables(status: FleetStatus) -> list[Table]:
    """Tables for `fleet status` (they fit an 80-column terminal)."""
    envs = Table(title=f"Fleet at {status.at:%Y-%m-%d %H:%M} (cluster clock)")
    for column in (
        "env",
        "models",
        "high-risk",
        "challenger",
        "serving",
        "replicas",
        f"idle {status.idle_days:g}d+",
        "req/s",
    ):
        envs.add_column(column, justify="left" if column == "env" else "right")
    for e in status.envs:
        envs.add_row(
            e.env.value,
            str(e.models),
            str(e.high_risk),
            str(e.with_challenger),
            str(e.deployments),
            f"{e.replicas_ready}/{e.replicas_desired}",
            str(e.idle_deployments),
            f"{e.requests_per_s:,.0f}",
        )
    pools = Table(title="GPU pools (allocation and use in GPU-equivalents)")
    for column in ("pool", "gpu", "nodes", "gpus", "allocated", "busy", "kW"):
        pools.add_column(column, justify="left" if column in {"pool", "gpu"} else "right")
    for p in status.pools:
        share = f" {p.allocated / p.capacity:.0%}" if p.capacity else ""
        busy = "-" if p.busy is None else f"{p.busy:.1f}"
        power = f"{p.power_w / 1000:.1f}" if p.power_w is not None else "-"
        pools.add_row(
            p.pool,
            p.gpu_type.value.split("-")[0],
            f"{p.nodes_ready}/{p.nodes_total}",
            str(p.gpus),
            f"{p.allocated:.1f}{share}",
            busy,
            power,
        )
    if status.unknown_env_models:
        envs.caption = (
            f"{status.unknown_env_models} model(s) without a known env tag, treated as prod "
            "(`lotsen models lint`)"
        )
    jobs = ", ".join(f"{v} {k}" for k, v in status.jobs.items())
    pools.caption = (
        f"{status.namespaces} namespaces, {status.namespaces_over_quota} over quota; jobs: {jobs}"
    )
    return [envs, pools]


def models_table(models: list[RegisteredModel]) -> Table:
    """Table for `models list`."""
    table = Table(title=f"{len(models)} registered models")
    table.add_column("model", no_wrap=True)
    for column in ("owner", "env", "pipeline", "risk", "aliases"):
        table.add_column(column)
    for m in models:
        aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(m.aliases.items()))
        table.add_row(
            m.name, m.owner, env_label(m.env), m.pipeline, risk_label(m.ai_act_risk), aliases
        )
    return table


def nodes_table(nodes: list[Node]) -> Table:
    """Table for `cluster nodes`."""
    table = Table(title=f"{len(nodes)} GPU nodes")
    for column in ("node", "pool", "env", "ready", "gpus", "slots used", "taints"):
        table.add_column(column)
    for n in nodes:
        slots = [s for g in n.gpus for s in g.slots]
        used = sum(s.occupant is not None for s in slots)
        taints = ", ".join(f"{t.key}={t.value}:{t.effect}" for t in n.taints)
        gpu_type = n.gpus[0].type.value if n.gpus else "-"
        table.add_row(
            n.name,
            n.pool,
            n.env.value,
            "yes" if n.ready else "NO",
            f"{len(n.gpus)}x {gpu_type}",
            f"{used}/{len(slots)}",
            taints,
        )
    return table


def namespaces_table(namespaces: list[Namespace]) -> Table:
    """Table for `cluster namespaces`."""
    table = Table(title=f"{len(namespaces)} namespaces")
    for column in ("namespace", "env", "owner", "GPU used", "quota"):
        table.add_column(column)
    for ns in namespaces:
        quota = "-" if ns.gpu_quota is None else f"{ns.gpu_quota:.2f}"
        over = ns.gpu_quota is not None and ns.gpu_used > ns.gpu_quota + 1e-9
        used = f"[red]{ns.gpu_used:.2f}[/red]" if over else f"{ns.gpu_used:.2f}"
        table.add_row(ns.name, str(ns.env or "-"), ns.owner or "-", used, quota)
    return table


def deployments_table(deployments: list[Deployment]) -> Table:
    """Table for `cluster deployments`."""
    table = Table(title=f"{len(deployments)} deployments")
    for column in ("namespace", "deployment", "version", "gpu", "ready", "req/s", "p95 ms"):
        table.add_column(column)
    for d in deployments:
        gpu = d.gpu.mig_profile or d.gpu.sharing.value
        ready = f"{d.ready_replicas}/{d.replicas}"
        if d.ready_replicas < d.replicas:
            ready = f"[red]{ready}[/red]"
        table.add_row(
            d.namespace,
            d.name,
            f"v{d.model_version}",
            f"{d.gpu.gpu_type.value} {gpu}",
            ready,
            f"{d.requests_per_s:.1f}",
            f"{d.p95_latency_ms:.0f}",
        )
    return table


def jobs_table(jobs: list[Job]) -> Table:
    """Table for `cluster jobs`."""
    table = Table(title=f"{len(jobs)} jobs")
    for column in ("job", "namespace", "model", "status", "where / why waiting"):
        table.add_column(column)
    for j in jobs:
        where = f"{j.placement.node} gpu{j.placement.gpu_index}" if j.placement else j.reason
        table.add_row(
            j.id,
            j.spec.namespace,
            j.spec.model,
            j.status.value,
            where,
        )
    return table
