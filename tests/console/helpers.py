"""Console test helpers: signed-in users (real accounts and sessions) and an escalated turn."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from tests.api.helpers import HALF_TRUE, HALLUCINATED, open_session, script_roles
from triad.auth.sessions import SESSION_COOKIE, create_session
from triad.auth.users import create_user
from triad.runtime import Runtime

PASSWORD = "correct horse battery staple"
ESCALATING_QUESTION = "Do you serve wagyu beef?"


@dataclass
class SignedIn:
    """A user's browser: the client carries the session cookie; forms must send `csrf`."""

    client: httpx.AsyncClient
    csrf: str
    user_id: int
    email: str


async def sign_in(app: FastAPI, *, email: str, role: str) -> SignedIn:
    """Create the account and a session for it, as the login form would."""
    async with app.state.session_factory() as db:
        user = await create_user(db, email, PASSWORD, role, display_name=email.split("@")[0])
        token, row = await create_session(db, user, settings=app.state.settings)
        user_id, csrf = user.id, row.csrf_token
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://triad.test",
        cookies={SESSION_COOKIE: token},
    )
    return SignedIn(client=client, csrf=csrf, user_id=user_id, email=email)


async def escalated_turn(client: httpx.AsyncClient, runtime: Runtime) -> tuple[str, dict[str, str]]:
    """A customer turn that escalates: neither answer is deliverable (the teacher's lists the
    proteins but makes up a wagyu upgrade, the student claims wagyu for $20 extra), so the
    customer gets the holding reply and staff see both answers, supported and failed claims.

    (A grounded teacher beside a hallucinating student no longer escalates: the teacher's answer
    is sent and the student's is a training signal.)"""
    script_roles(runtime, HALF_TRUE, HALLUCINATED)
    sid, auth = await open_session(client)
    turn = await client.post(
        f"/chat/sessions/{sid}/messages", json={"content": ESCALATING_QUESTION}, headers=auth
    )
    assert turn.status_code == 200, turn.text
    assert turn.json()["status"] == "pending_staff", turn.json()
    return sid, auth


def texts(page: str) -> str:
    """The page's text with tags removed and whitespace collapsed, for content assertions."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))
