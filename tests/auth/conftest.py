"""The API fixtures (real app on the test database, signed-in clients), shared with tests/api."""

from __future__ import annotations

from tests.api.conftest import admin_client, app, client, demo, runtime, staff_client

__all__ = ["admin_client", "app", "client", "demo", "runtime", "staff_client"]
