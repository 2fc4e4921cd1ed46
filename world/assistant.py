"""The ops assistant's port on the world."""

from typing import TYPE_CHECKING

from agents.assistant import AssistantAnswer, AssistantContext, answer
from world.world import USAGE_FILE, World

if TYPE_CHECKING:
    from agents.router.chat import ChatRouter


def assistant_port(world: World, user: str | None = None) -> AssistantContext:
    """What the assistant may read (and propose changes to), taken from the world.

    Remediation state and the audit log are offered only if they exist (a question never
    creates state files).
    """
    files, state = world.files, world.state
    return AssistantContext(
        registry=world.registry,
        cluster=world.cluster,
        pipelines=world.pipelines,
        store=world.runs if files.remediation_db.exists() else None,
        approvals=world.approvals if state.approvals_db.exists() else None,
        audit=world.audit if state.audit_db.exists() else None,
        llms=world.llms,
        router=_router(world),
        user=world.user(user, "viewer"),
        clock=world.clock,
        policies=world.policies,
        capacity=world.capacity,
        telemetry=(lambda: world.telemetry) if files.telemetry_db.exists() else None,
    )


def _router(world: World) -> "ChatRouter | None":
    """The chat router over the data dir's registry (None with tier 0 only)."""
    if not world.llms:
        return None
    from agents.router.chat import ChatRouter, registry_for

    data = world.settings.data_dir
    return ChatRouter(
        registry_for(data, [c.tier for c in world.llms]), usage_file=data / USAGE_FILE
    )


def ask(
    world: World, question: str, *, tier: str | None = None, user: str | None = None
) -> AssistantAnswer:
    """Answer one question on the world (what `lotsen ask` and the evals call)."""
    return answer(question, assistant_port(world, user), tier=tier)
