"""Alembic environment: runs on the connection :class:`vivavoce.store.database.Database`
hands over (``config.attributes["connection"]``).

Used from the ``alembic`` command line directly (for ``alembic revision --autogenerate``
during development), it connects to the database vivavoce's settings name.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from vivavoce.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    from vivavoce.config import load_settings

    url = config.get_main_option("sqlalchemy.url") or load_settings().effective_database_url
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure_and_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
elif isinstance(config.attributes.get("connection"), Connection):
    _configure_and_run(config.attributes["connection"])
else:
    asyncio.run(_run_standalone())
