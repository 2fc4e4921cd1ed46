"""`lotsen ask QUESTION` and `lotsen chat`: the ops assistant from the command line."""

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lotsen.cli import checks
from lotsen.cli.context import console, world_of
from tools.errors import LotsenError

if TYPE_CHECKING:
    from agents.assistant import AssistantAnswer, AssistantContext
    from world.world import World

Tier = Annotated[
    str | None,
    typer.Option(help="LLM tier name, or 0 for the deterministic core (default: cheapest)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")]
AsUser = Annotated[
    str | None, typer.Option("--as", help="Who is asking (proposer of any proposed change).")
]
EXIT_WORDS = {"exit", "quit", ":q"}


def ask_cmd(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    tier: Tier = None,
    as_json: AsJson = False,
    user: AsUser = None,
) -> None:
    """Ask the ops assistant one question (read-only; changes come back as proposals)."""
    from agents.assistant import answer
    from agents.assistant.answer import choose_llm
    from world.assistant import assistant_port

    question, user = checks.name("QUESTION", question), checks.name_or_none("--as", user)
    if _ask_server(ctx, question, tier, as_json, user):
        return
    world = world_of(ctx)
    assistant = assistant_port(world, user)
    choose_llm(assistant, tier)  # an unknown tier fails before anything is recorded
    reply = answer(question, assistant, tier=tier)
    show(reply, as_json)
    _queue(world, reply, user, quiet=as_json)


def _ask_server(
    ctx: typer.Context, question: str, tier: str | None, as_json: bool, user: str | None
) -> bool:
    """Ask through LOTSEN_SERVER_URL as the token's user; False when no server is set."""
    from lotsen.cli.context import settings_of
    from lotsen.service.client import server_client

    remote = server_client(settings_of(ctx), user)
    if remote is None:
        return False
    from agents.assistant import AssistantAnswer

    try:
        reply = remote.ask(question, tier)
    finally:
        remote.close()
    show(AssistantAnswer.model_validate(reply.answer), as_json)
    for request_id in reply.queued_approvals:
        if not as_json:
            console.print(f"Queued for approval as [bold]{request_id}[/bold] on the server.")
    return True


def chat_cmd(
    ctx: typer.Context, tier: Tier = None, as_json: AsJson = False, user: AsUser = None
) -> None:
    """Chat with the ops assistant: one question per line until EOF or `exit`."""
    from agents.assistant.answer import choose_llm
    from world.assistant import assistant_port

    user = checks.name_or_none("--as", user)
    interactive = sys.stdin.isatty()
    world = world_of(ctx)
    assistant = assistant_port(world, user)
    choose_llm(assistant, tier)  # an unknown tier fails before the first question
    if interactive:
        console.print("Ask about models, pipelines, GPUs, quotas, incidents; `exit` ends.")
    _loop(world, assistant, tier, as_json, interactive)


def _loop(
    world: "World", assistant: "AssistantContext", tier: str | None, as_json: bool, prompt: bool
) -> None:
    from agents.assistant import answer

    previous: AssistantAnswer | None = None
    while True:
        if prompt:
            console.print("[bold]>[/bold] ", end="")
        line = sys.stdin.readline()
        if not line:
            return
        question = line.strip()
        if not question:
            continue
        if question.lower() in EXIT_WORDS:
            return
        try:
            previous = answer(question, assistant, tier=tier, previous=previous)
        except LotsenError as exc:  # one bad question does not end the chat
            typer.echo(f"error: {exc}", err=True)
            continue
        show(previous, as_json, compact=True)
        _queue(world, previous, assistant.user, quiet=as_json)


def _queue(world: "World", reply: "AssistantAnswer", user: str | None, *, quiet: bool) -> None:
    """Queue the answer's proposals for a second person's approval, and say so."""
    if not reply.proposals:
        return
    from tools.errors import ConfigError
    from world.approvals import queue_chat_proposals

    try:
        proposer = world.user(user, "operator")
    except ConfigError as exc:
        console.print(f"Not queued for approval: {exc}", markup=False)
        return

    for request in queue_chat_proposals(world, reply, proposer):
        if not quiet:
            console.print(
                f"Queued for approval as [bold]{request.id}[/bold] ({request.verdict}): "
                f"`lotsen approvals approve {request.id} --as someone-else` executes it."
            )


def show(reply: "AssistantAnswer", as_json: bool, compact: bool = False) -> None:
    """Print an answer: text, proposals, and where it came from (or JSON)."""
    if as_json:
        typer.echo(reply.model_dump_json(indent=None if compact else 2))
        return
    console.print(reply.text, markup=False, highlight=False)
    if reply.proposals:
        table = Table(title="Proposed changes (NOT executed: compliance gate + approval)")
        for column in ("action", "model", "target", "detail"):
            table.add_column(column)
        for p in reply.proposals:
            target = p.deployment and f"{p.namespace}/{p.deployment}"
            target = target or (f"{p.alias}=v{p.version}" if p.version else p.namespace or "-")
            table.add_row(p.kind.value, p.model or "-", target, p.detail)
        console.print(table)
    cost = f", {reply.tokens_in}+{reply.tokens_out} tokens, cost {reply.cost:g}"
    source = f"tier {reply.tier}" + (f", intent {reply.intent}" if reply.intent else "")
    console.print(
        f"[dim]{source}, {reply.steps} step(s){cost if reply.tier != 'tier0' else ''}[/dim]"
    )
