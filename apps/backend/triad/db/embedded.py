"""Where the database is: `DATABASE_URL` when set, otherwise an embedded PostgreSQL.

The embedded server is PostgreSQL 16 with pgvector from the `pgserver` wheel, kept in a data
folder of the project and reached over a Unix socket, so nothing listens on a TCP port.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from triad.errors import InvalidConfigError
from triad.settings import Settings

log = logging.getLogger(__name__)

_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_servers: dict[Path, Any] = {}


def _server(data_dir: Path) -> Any:
    """Start (or attach to) the embedded server; it stops when the last process using it exits."""
    if data_dir not in _servers:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import get_server

            data_dir.mkdir(parents=True, exist_ok=True)
            _servers[data_dir] = get_server(data_dir, cleanup_mode="stop")
    return _servers[data_dir]


def to_async_url(url: str) -> str:
    """Use the psycopg 3 driver whatever scheme the operator wrote."""
    scheme, rest = url.split("://", 1)
    if scheme in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+asyncpg"):
        scheme = "postgresql+psycopg"
    if scheme != "postgresql+psycopg":
        raise InvalidConfigError(f"DATABASE_URL must be a PostgreSQL URL, got scheme '{scheme}'")
    return f"{scheme}://{rest}"


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def ensure_database(settings: Settings, database: str | None = None) -> str:
    """Return a SQLAlchemy URL for a database that exists, creating it on the embedded server."""
    name = database or settings.database_name
    if not _DB_NAME.match(name):
        raise InvalidConfigError(f"database name '{name}' is not a plain PostgreSQL identifier")
    if settings.database_url:
        url = to_async_url(settings.database_url)
        return with_database(url, name) if database else url
    server = _server(settings.data_dir)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in exists:
        log.info("creating database %s on the embedded server", name)
        server.psql(f'CREATE DATABASE "{name}";')
    return to_async_url(server.get_uri(name))


def drop_database(settings: Settings, database: str) -> None:
    """Drop a database of the embedded server (tests use this to start from nothing)."""
    if not _DB_NAME.match(database):
        raise InvalidConfigError(f"database name '{database}' is not a plain identifier")
    if settings.database_url:
        raise InvalidConfigError("refusing to drop a database on an external DATABASE_URL")
    _server(settings.data_dir).psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);')
