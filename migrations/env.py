"""Alembic environment: runs migrations over a synchronous psycopg 3 connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from triad.db.embedded import ensure_database
from triad.db.models import Base
from triad.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    configured = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    return str(configured) if configured else ensure_database(get_settings())


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
