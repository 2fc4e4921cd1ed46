"""The JSON API under /api/v1 (OpenAPI at /docs and /openapi.json)."""

from fastapi import APIRouter, Depends

from lotsen.service.api import approvals, chat, incidents, read, users
from lotsen.service.auth import require_api_csrf

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_csrf)])
for part in (read, incidents, approvals, chat, users):
    router.include_router(part.router)
