"""The API fixtures (real app, runtime, client, demo knowledge) for the analytics tests."""

from tests.api.conftest import app, client, demo, runtime

__all__ = ["app", "client", "demo", "runtime"]
