"""Prometheus scrapes `GET /metrics`: requests, provider calls, retries, breakers, cache, cost."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from triad import metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def prometheus() -> Response:
    """The process's metrics in the Prometheus text exposition format."""
    return Response(content=metrics.render(), media_type=CONTENT_TYPE_LATEST)
