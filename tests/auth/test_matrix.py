"""Every staff and admin route x every kind of caller, enumerated from the live app.

Routes are read from `app.routes` at test time, so a route another part adds under /admin,
/staff or /escalations is covered without touching this file. "Allowed" means authentication
and authorization passed and nothing broke: not 401/403, not a 5xx, and not a redirect to the
login page (a dummy id gives 404, an empty body 422). Callers include the service tokens from
the environment, which have no user row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from tests.api.conftest import ADMIN_EMAIL, ADMIN_HEADERS, STAFF_EMAIL, STAFF_HEADERS
from tests.api.helpers import open_session
from triad.auth.users import create_token

GUARDED = ("/admin", "/staff", "/escalations")
API_PREFIXES = ("/admin/api", "/escalations")
DUMMY_ID = "999999"


@dataclass(frozen=True)
class Caller:
    name: str
    client: httpx.AsyncClient
    headers: dict[str, str]
    role: str | None  # None: not staff at all


def _guarded(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in GUARDED)


def _is_api(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", DUMMY_ID, path)


def _all_routes(app: FastAPI) -> list[RouteContext]:
    """Every route with its full path, routers included through other routers flattened."""
    return list(iter_route_contexts(app.routes))


def _route_paths(app: FastAPI) -> set[str]:
    """Paths of every kind of route (mounts too) under the guarded prefixes."""
    return {r.path for r in _all_routes(app) if r.path is not None and _guarded(r.path)}


async def _callers(
    app: FastAPI,
    client: httpx.AsyncClient,
    staff_client: httpx.AsyncClient,
    admin_client: httpx.AsyncClient,
) -> list[Caller]:
    _, customer = await open_session(client)
    async with app.state.session_factory() as db:
        staff_token = await create_token(db, STAFF_EMAIL, "matrix")
        admin_token = await create_token(db, ADMIN_EMAIL, "matrix")
    return [
        Caller("anonymous", client, {}, None),
        Caller("customer", client, customer, None),
        Caller("staff session", staff_client, {}, "staff"),
        Caller("admin session", admin_client, {}, "admin"),
        Caller("staff token", client, {"Authorization": f"Bearer {staff_token.secret}"}, "staff"),
        Caller("admin token", client, {"Authorization": f"Bearer {admin_token.secret}"}, "admin"),
        Caller("staff service token", client, STAFF_HEADERS, "staff"),
        Caller("admin service token", client, ADMIN_HEADERS, "admin"),
    ]


def _sent_to_login(response: httpx.Response) -> bool:
    return response.is_redirect and response.headers.get("location", "").startswith("/login")


def _expectation(caller: Caller, path: str) -> str:
    if caller.role is None:
        return "401" if _is_api(path) else "login"
    if path.startswith("/admin") and caller.role != "admin":
        return "403"
    return "allowed"


async def test_every_guarded_route_for_every_caller(
    app: FastAPI,
    client: httpx.AsyncClient,
    staff_client: httpx.AsyncClient,
    admin_client: httpx.AsyncClient,
) -> None:
    routes = [
        r
        for r in _all_routes(app)
        if isinstance(r.original_route, APIRoute) and r.path is not None and _guarded(r.path)
    ]
    callers = await _callers(app, client, staff_client, admin_client)
    failures: list[str] = []
    covered: set[str] = set()
    for route in routes:
        assert route.path is not None
        path = _fill(route.path)
        for method in sorted(route.methods or ()):
            covered.add(route.path)
            for caller in callers:
                response = await caller.client.request(method, path, headers=caller.headers)
                want = _expectation(caller, route.path)
                got = response.status_code
                ok = {
                    "401": got == 401,
                    "403": got == 403,
                    "login": got == 303
                    and response.headers.get("location", "").startswith("/login?next="),
                    "allowed": got not in (401, 403) and got < 500 and not _sent_to_login(response),
                }[want]
                if not ok:
                    failures.append(f"{method} {route.path} as {caller.name}: {got}, want {want}")
    assert not failures, "\n".join(failures)
    # nothing under the guarded prefixes escapes the matrix (mounts, plain routes, ...)
    assert _route_paths(app) == covered
    # and the matrix is not vacuous: the known staff and admin surfaces are in it
    for known in ("/escalations", "/escalations/{escalation_id}/reply", "/admin/api/costs"):
        assert known in covered


@pytest.mark.parametrize("path", ["/admin", "/staff"])
async def test_console_home_pages_exist(app: FastAPI, path: str) -> None:
    assert any(r.path == path and "GET" in (r.methods or ()) for r in _all_routes(app)), path
