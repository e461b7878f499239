"""Schemathesis over every operation of the OpenAPI document, against the app served by uvicorn
on a loopback port (its own thread and event loop), as four callers: anonymous, a machine with
an API key, an admin signed in with a browser session (cookie and CSRF token) and an admin
service token.

Valid and invalid requests alike must never get a 5xx, and every response must be declared:
its status, its content type and its body's schema. Every model is scripted, so a turn costs
milliseconds and no network is used; examples are bounded so the run stays well under two
minutes.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ADMIN_TOKEN, STAFF_TOKEN
from tests.api.helpers import GROUNDED
from tests.conftest import truncate_all
from tests.support.scripted import ScriptedProvider
from triad.api import create_app
from triad.auth.users import create_user
from triad.db.session import make_engine, make_session_factory
from triad.settings import Settings

EXAMPLES = 8
"""Per operation and caller, valid and invalid requests together: 41 operations x 4 callers x
8 is about 1,300 requests."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


ADMIN_EMAIL = "schemathesis-admin@triad.test"
ADMIN_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Served:
    app: FastAPI
    base_url: str
    api_key: str
    session_cookies: dict[str, str]
    csrf_token: str


async def _admin_user(url: str) -> None:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as db:
            await create_user(db, ADMIN_EMAIL, ADMIN_PASSWORD, "admin", display_name="Fuzz")
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def served(settings: Settings, database_url: str) -> Iterator[Served]:
    """The real app on 127.0.0.1 (a free port), lifespan run, every model scripted."""
    configured = settings.model_copy(
        update={"staff_token": SecretStr(STAFF_TOKEN), "admin_token": SecretStr(ADMIN_TOKEN)}
    )
    app = create_app(configured, database_url=database_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    runtime = app.state.runtime
    for spec in runtime.registry:
        runtime.use_provider(spec.id, ScriptedProvider(GROUNDED))
    base_url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(_admin_user(database_url))
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        made = requests.post(
            f"{base_url}/admin/api/keys", json={"name": "fuzz", "owner": "tests"}, headers=admin
        )
        assert made.status_code == 201, made.text
        login = requests.post(
            f"{base_url}/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        me = requests.get(f"{base_url}/auth/me", cookies=login.cookies)
        keyed = requests.get(
            f"{base_url}/v1/models", headers={"Authorization": f"Bearer {made.json()['secret']}"}
        )
        assert me.json()["via"] == "session" and keyed.status_code == 200, (me.text, keyed.text)
        yield Served(
            app=app,
            base_url=base_url,
            api_key=made.json()["secret"],
            session_cookies={c.name: c.value or "" for c in login.cookies},
            csrf_token=login.json()["csrf_token"],
        )
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        asyncio.run(_truncate(database_url))


async def _truncate(url: str) -> None:
    engine = make_engine(url)
    try:
        await truncate_all(engine)
    finally:
        await engine.dispose()


def _schema() -> Any:
    """The document the app publishes (building it needs no database)."""
    loaded = schemathesis.openapi.from_dict(create_app(Settings()).openapi())
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        no_shrink=True,
        allow_x00=True,
        database="none",
    )
    return loaded


Test = Callable[..., None]
parametrize: Callable[[Test], Test] = _schema().parametrize()
"""One test per operation of the published document."""

BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@parametrize
@BOUNDED
def test_anonymous(case: Any, served: Served) -> None:
    case.call_and_validate(base_url=served.base_url, checks=CHECKS, timeout=30)


@parametrize
@BOUNDED
def test_machine_with_an_api_key(case: Any, served: Served) -> None:
    case.call_and_validate(
        base_url=served.base_url,
        headers={"Authorization": f"Bearer {served.api_key}"},
        checks=CHECKS,
        timeout=30,
    )


@parametrize
@BOUNDED
def test_admin_signed_in_with_a_session(case: Any, served: Served) -> None:
    """The cookie counts only without an Authorization header, so a generated one is dropped."""
    case.call_and_validate(
        base_url=served.base_url,
        headers={"Authorization": None, "X-CSRF-Token": served.csrf_token},
        cookies=served.session_cookies,
        checks=CHECKS,
        timeout=30,
    )


@parametrize
@BOUNDED
def test_admin_service_token(case: Any, served: Served) -> None:
    case.call_and_validate(
        base_url=served.base_url,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        checks=CHECKS,
        timeout=30,
    )
