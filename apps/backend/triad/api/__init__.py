"""FastAPI application: one router per resource, errors mapped to HTTP once."""

from triad.api.app import create_app

__all__ = ["create_app"]
