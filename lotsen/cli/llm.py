"""`lotsen llm ...`: the model tiers, probing an endpoint, launching vLLM, its metrics."""

import os
import shutil
import subprocess
from typing import Annotated

import typer
from rich.table import Table

from llm.tiers import TIER0, LlmTier
from llm.vllm_launch import VllmLaunch
from lotsen.cli import checks
from lotsen.cli.context import console, print_json, settings_of
from tools.errors import ConfigError
from world.llm import configured_tiers
from world.settings import Settings

app = typer.Typer(help="LLM tiers: list, probe (`check`), launch vLLM (`serve`), metrics.")


@app.command("tiers")
def tiers(ctx: typer.Context) -> None:
    """List the configured tiers, cheapest first (tier 0 = deterministic, always there)."""
    table = Table(title="LLM tiers")
    for column in ("tier", "model", "endpoint", "context", "cost in/out per 1k", "capabilities"):
        table.add_column(column)
    table.add_row(TIER0, "-", "deterministic core", "-", "0 / 0", "all agents")
    for t in configured_tiers(settings_of(ctx)):
        caps = ", ".join(sorted(c.value for c in t.capabilities))
        table.add_row(
            t.name,
            t.model,
            t.base_url,
            str(t.context_length),
            f"{t.cost_per_1k_input:g} / {t.cost_per_1k_output:g}",
            caps,
        )
    console.print(table)


@app.command("check")
def check(
    ctx: typer.Context,
    tier: Annotated[str | None, typer.Option(help="Tier to probe (default: every tier).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Probe this endpoint instead.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name, with --base-url.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Probe endpoints: model served, plain chat, tool calling, json_schema outputs."""
    from llm.check import check_tier

    targets = _targets(settings_of(ctx), tier, base_url, model)
    reports = [check_tier(t) for t in targets]
    if as_json:
        print_json([r.model_dump() | {"ok": r.ok} for r in reports])
    else:
        for report in reports:
            table = Table(title=f"{report.tier}: {report.model} at {report.base_url}")
            for column in ("capability", "result", "detail", "fix"):
                table.add_column(column)
            for item in report.items:
                mark = (
                    "[green]ok[/green]"
                    if item.ok
                    else ("[red]FAIL[/red]" if item.required else "[yellow]no[/yellow]")
                )
                table.add_row(str(item.capability), mark, item.detail, item.fix)
            console.print(table)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


def _targets(
    settings: Settings, tier: str | None, base_url: str | None, model: str | None
) -> list[LlmTier]:
    if base_url is not None:
        checks.http_url("--base-url", base_url)
        if not model or not model.strip():
            raise ConfigError("--base-url needs --model (the name the server serves)")
        return [LlmTier(name="adhoc", base_url=base_url, model=model)]
    tiers = configured_tiers(settings)
    if not tiers:
        raise ConfigError(
            "no LLM tier is configured; set LOTSEN_LLM_TIERS or pass --base-url and --model"
        )
    chosen = [t for t in tiers if tier in (None, t.name)]
    if not chosen:
        raise ConfigError(
            f"unknown LLM tier {tier!r}; configured: {', '.join(t.name for t in tiers)}"
        )
    return chosen


@app.command("serve")
def serve(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Argument(help="Hugging Face id or local path, e.g. Qwen/Qwen2.5-7B-Instruct.")
    ],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_model_len: Annotated[int, typer.Option(help="Context length.")] = 16384,
    tool_call_parser: Annotated[
        str | None, typer.Option(help="Override the family's parser.")
    ] = None,
    served_name: Annotated[
        str | None, typer.Option(help="Name clients use (default: model).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the command only.")] = False,
) -> None:
    """Run `vllm serve` with the right tool-call parser, prefix caching and context length."""
    model = checks.name("MODEL", model)
    port = checks.count("--port", port, most=65535)
    max_model_len = checks.count("--max-model-len", max_model_len)
    tool_call_parser = checks.name_or_none("--tool-call-parser", tool_call_parser)
    served_name = checks.name_or_none("--served-name", served_name)
    launch = VllmLaunch(
        model=model,
        port=port,
        max_model_len=max_model_len,
        tool_call_parser=tool_call_parser,
        served_name=served_name,
    )
    vllm = settings_of(ctx).vllm_bin
    argv = launch.command(str(vllm))
    console.print(" ".join(argv), soft_wrap=True, highlight=False)
    for note in launch.notes():
        console.print(f"note: {note}")
    if dry_run:
        return
    if not vllm.exists():
        raise ConfigError(
            f"vLLM is not installed at {vllm}: `make vllm-env` creates its own venv "
            "(it cannot share Lotsen's), or set LOTSEN_VLLM_BIN"
        )
    _require_gpu()
    os.execv(argv[0], argv)


def _require_gpu() -> None:
    smi = shutil.which("nvidia-smi")
    listed = (
        subprocess.run([smi, "-L"], capture_output=True, text=True, check=False).stdout
        if smi
        else ""
    )
    if "GPU" not in listed:
        raise ConfigError(
            "no NVIDIA GPU found (nvidia-smi is missing or lists none); vLLM needs one: "
            "run it on a GPU node, e.g. with deploy/kubernetes/vllm.yaml"
        )


@app.command("metrics")
def metrics(
    url: Annotated[str, typer.Argument(help="vLLM metrics URL, e.g. http://vllm:8000/metrics")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Running/waiting requests, KV-cache use and prefix-cache hit rate of a vLLM server."""
    from tools.vllm_metrics import read_vllm_metrics

    snapshot = read_vllm_metrics(checks.http_url("URL", url))
    if as_json:
        print_json(snapshot)
        return
    for key, value in snapshot.model_dump().items():
        console.print(f"{key:>24}: {'-' if value is None else f'{value:g}'}")


@app.command("usage")
def usage(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Tokens, cost, latency and failures per agent, task and tier (from the usage ledger)."""
    from llm.usage import UsageLedger

    path = settings_of(ctx).data_dir / "llm_usage.jsonl"
    ledger = UsageLedger.load(path)
    rows = ledger.summary()
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"LLM usage ({path})")
    for column in (
        "agent",
        "task",
        "tier",
        "calls",
        "tokens in/out",
        "cost",
        "latency s",
        "failed",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.agent,
            r.task,
            r.tier,
            str(r.calls),
            f"{r.input_tokens}/{r.output_tokens}",
            f"{r.cost:.4f}",
            f"{r.latency_s:.2f}",
            str(r.failures),
        )
    console.print(table)
    if ledger.skipped:
        console.print(
            f"[yellow]{ledger.skipped} unreadable line(s) in {path} were skipped[/yellow]"
        )
