"""The API fixtures (real app, runtime, client, demo knowledge) and signed-in console clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
from fastapi import FastAPI

from tests.api.conftest import admin_client, app, client, demo, runtime, staff_client
from tests.console.helpers import SignedIn, sign_in

__all__ = ["admin_client", "app", "client", "demo", "runtime", "signed_in", "staff_client"]


@pytest.fixture
async def signed_in(app: FastAPI) -> AsyncIterator[Callable[[str, str], Awaitable[SignedIn]]]:
    """A factory: a browser-like client with a session cookie for a new user of that role."""
    async with AsyncExitStack() as stack:

        async def make(email: str, role: str) -> SignedIn:
            user = await sign_in(app, email=email, role=role)
            await stack.enter_async_context(user.client)
            return user

        yield make
