"""The chat page and the evidence panel of an answer (entities linked to their pages).

The answer itself streams from the API (`POST /api/v1/chat/threads/{id}/messages`,
Server-Sent Events), read by static/chat.js; once it is complete the page posts the answer
here and shows the returned HTML.
"""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from lotsen.service.auth import CSRF_HEADER, verify_csrf
from lotsen.service.console.web import PREFIX, principal_of, render, templates
from lotsen.service.deps import locked_world
from world.world import World

router = APIRouter(prefix=PREFIX, include_in_schema=False)
API = "/api/v1/chat"
MAX_ITEMS = 200


class ToolCall(BaseModel):
    """One lookup the assistant made."""

    name: str = Field(max_length=200)
    args: str = Field(default="", max_length=2000)
    status: str = Field(default="ok", max_length=200)


class Proposal(BaseModel):
    """A change the answer proposes (only what the panel shows)."""

    kind: str = Field(max_length=50)
    model: str | None = Field(default=None, max_length=200)
    namespace: str | None = Field(default=None, max_length=200)
    deployment: str | None = Field(default=None, max_length=200)
    detail: str = Field(default="", max_length=2000)


class AnswerEvidence(BaseModel):
    """What the panel needs of an answer (the API's answer event carries more)."""

    tier: str = Field(default="tier0", max_length=100)
    intent: str | None = Field(default=None, max_length=100)
    entities: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    tool_calls: list[ToolCall] = Field(default_factory=list, max_length=MAX_ITEMS)
    proposals: list[Proposal] = Field(default_factory=list, max_length=MAX_ITEMS)
    approvals: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    """Ids of approval requests the answer queued, if the API reports them."""


class EntityLink(BaseModel):
    """An entity named by an answer, with the console page that shows it (if any)."""

    name: str
    kind: str
    href: str | None


@router.get("/chat")
def chat(request: Request, thread: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The chat page (operators ask; viewers see why they cannot)."""
    who = principal_of(request)
    return render(request, who, "chat.html", "chat", api=API, thread=thread)


@router.post("/chat/evidence")
def evidence(request: Request, answer: AnswerEvidence) -> Response:
    """The evidence panel of one answer: tool calls, linked entities, proposals."""
    who = principal_of(request)
    verify_csrf(request, request.headers.get(CSRF_HEADER, ""))
    with locked_world(request) as world:
        models = {m.name for m in world.registry.list_models()} if answer.entities else set()
        links = [link(world, name, models) for name in dict.fromkeys(answer.entities)]
    proposals = [
        " ".join(
            x
            for x in (
                p.kind,
                p.model or "",
                f"{p.namespace}/{p.deployment}" if p.deployment else p.namespace or "",
                p.detail,
            )
            if x
        )
        for p in answer.proposals
    ]
    context = {
        "user": who,
        "tier": answer.tier,
        "intent": answer.intent,
        "links": links,
        "tool_calls": answer.tool_calls,
        "proposals": proposals,
        "approvals": answer.approvals,
    }
    return templates().TemplateResponse(request, "_evidence.html", context)


def link(world: World, name: str, models: set[str]) -> EntityLink:
    """What `name` is in the world (`models`: the registered names) and its console page."""
    from world.incidents import incident_store

    q = quote(name, safe="")
    if name in models:
        return EntityLink(name=name, kind="model", href=f"{PREFIX}/models/{q}")
    store = incident_store(world)
    if store is not None and store.find(name) is not None:
        return EntityLink(name=name, kind="incident", href=f"{PREFIX}/incidents/{q}")
    if world.state.approvals_db.exists() and _is_approval(world, name):
        return EntityLink(name=name, kind="approval", href=f"{PREFIX}/approvals/{q}")
    if name in {p.name for p in world.cluster.node_pools()}:
        return EntityLink(name=name, kind="GPU pool", href=f"{PREFIX}/pools#pool-{q}")
    if name in {n.name for n in world.cluster.namespaces()}:
        return EntityLink(name=name, kind="namespace", href=f"{PREFIX}/fleet?q={q}")
    return EntityLink(name=name, kind="", href=None)


def _is_approval(world: World, name: str) -> bool:
    from tools.errors import NotFoundError

    try:
        world.approvals.get(name)
    except NotFoundError:
        return False
    return True
