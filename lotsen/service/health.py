"""`/healthz` (the process answers), `/readyz` (the world opens), `/metrics` (Prometheus)."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from lotsen.service import metrics
from lotsen.service.deps import locked_world
from tools.errors import LotsenError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """A health answer."""

    status: str
    detail: str = ""


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> Health:
    """Always ok while the process serves."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the world opens",
    response_model=Health,
    responses={503: {"model": Health}},
)
def readyz(request: Request) -> Response:
    """Ok when the world's registry and cluster answer; 503 with the reason otherwise."""
    try:
        with locked_world(request) as world:
            world.cluster.now()
            world.registry.list_models()
    except LotsenError as exc:
        body = Health(status="unavailable", detail=str(exc).splitlines()[0])
        return JSONResponse(body.model_dump(), status_code=503)
    return JSONResponse(Health(status="ok").model_dump())


@router.get("/metrics", summary="Prometheus metrics of Lotsen itself")
def prometheus(request: Request) -> Response:
    """Lotsen's instruments and the world's state (approvals, incidents, actions, LLM)."""
    from lotsen.service.world_metrics import WorldCollector

    text = metrics.render(WorldCollector(request.app))
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")
