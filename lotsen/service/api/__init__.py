"""The JSON API under /api/v1."""

from fastapi import APIRouter, Depends

from lotsen.service.auth import require_api_csrf

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_csrf)])
