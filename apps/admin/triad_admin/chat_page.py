"""The customer chat page at `/`: plain HTML and a little inline JavaScript over the chat API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from triad.api.deps import OptionalPrincipal
from triad_admin.render import render

router = APIRouter()


@router.get("/")
async def chat(request: Request, principal: OptionalPrincipal) -> HTMLResponse:
    """A visitor chats with the agents; staff replies appear on the next poll."""
    return render(request, "chat.html", {"principal": principal, "poll_ms": 3000})
