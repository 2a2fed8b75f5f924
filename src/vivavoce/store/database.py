"""The database handle: one async engine, migrations, sessions.

SQLite (the default, a file in the data directory) and PostgreSQL (``DATABASE_URL``) run
the same code. On SQLite every connection gets foreign keys (the cascade deletes depend on
them), WAL (readers do not block the writer of a live interview) with ``synchronous=NORMAL``
(no fsync per commit; durable across a crash of the process) and a busy timeout. On
PostgreSQL :meth:`Database.migrate` holds an advisory lock, so instances that start
together migrate one after the other instead of racing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState, StaticPool

from vivavoce.store.urls import asyncpg_url_and_options

__all__ = [
    "MIGRATIONS_DIR",
    "Database",
    "UnsupportedDatabase",
    "alembic_config",
    "one_statement_transaction",
]

log = logging.getLogger("vivavoce.store")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# pg_advisory_lock takes a bigint; any fixed number unique to vivavoce's migrations.
_MIGRATION_LOCK_KEY = 0x76_69_76_61_76_6F_63_65 & 0x7FFF_FFFF_FFFF_FFFF  # "vivavoce"


class UnsupportedDatabase(ValueError):
    """The URL names a database vivavoce does not run on (only SQLite and PostgreSQL)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration pointing at the migrations shipped in the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except Exception as exc:  # the driver's OperationalError, wrapped by the adapter
            # Two connections switching a brand-new file to WAL at once: SQLite refuses
            # one of them at once (no busy wait, it would deadlock). The mode is stored
            # in the file, so the other connection's switch covers this one too.
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            log.debug("journal_mode=WAL deferred: %s", exc)
        # With WAL, NORMAL syncs the log at checkpoints instead of at every commit: a
        # crashed process loses nothing (the log is in the file), only a power cut or an
        # OS crash may lose the last commits. FULL paid an fsync per turn and per start.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Database:
    """One database. Raises :class:`UnsupportedDatabase` for a URL that is neither SQLite
    nor PostgreSQL (``sqlalchemy.exc.ArgumentError`` for one that is not a URL at all,
    ValueError for unusable connection parameters)."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise UnsupportedDatabase(
                f"vivavoce runs on SQLite or PostgreSQL, not {backend!r} "
                "(DATABASE_URL should start with postgresql:// or sqlite://)"
            )
        self.url = url
        self.dialect: Literal["sqlite", "postgresql"] = backend  # type: ignore[assignment]
        self._sqlite_path: Path | None = None
        options: dict[str, Any] = {}
        if backend == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:") or database.startswith("file::memory:"):
                # One shared connection, or every session would see its own empty database.
                options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                self._sqlite_path = Path(database)
        else:
            options["pool_pre_ping"] = True
            if parsed.get_driver_name() == "asyncpg":
                parsed, connect_args = asyncpg_url_and_options(parsed)
                options["connect_args"] = connect_args
        options.update(engine_options)
        self.engine: AsyncEngine = create_async_engine(parsed, **options)
        if backend == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine.pool, "reset", _sqlite_reset)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def safe_url(self) -> str:
        """The URL with any password masked (for logs and the doctor)."""
        return make_url(self.url).render_as_string(hide_password=True)

    async def migrate(self) -> None:
        """Upgrade the schema to the newest migration and seed the built-in questions.

        The upgrade and the seeding are one transaction under one lock (PostgreSQL: an
        advisory lock; SQLite: ``BEGIN IMMEDIATE``, the database's write lock), so a second
        instance starting at the same moment waits, then finds nothing left to do.
        Raises ``sqlalchemy.exc.OperationalError`` / ``OSError`` when the database cannot
        be reached or the SQLite directory cannot be created.
        """
        # Imported lazily: the bank is a large module only needed here.
        from vivavoce.store.questions import seed_builtin_questions

        if self._sqlite_path is not None:
            self._sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        async with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                # Session-level: it outlives the commit below and is released in `finally`
                # (or by the server when the connection dies).
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
                await conn.commit()
            try:
                if self.dialect == "sqlite":
                    # pysqlite would only BEGIN before the first INSERT, leaving the DDL
                    # outside the transaction and two starters racing on CREATE TABLE.
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                await conn.run_sync(_upgrade_to_head)
                # The session joins this connection's transaction (its commit is ours).
                async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                    added = await seed_builtin_questions(session)
                await conn.commit()
                if added:
                    log.info("seeded %d built-in interview questions", added)
            finally:
                if self.dialect == "postgresql":
                    await conn.rollback()
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_KEY}
                    )
                    await conn.commit()

    async def downgrade(self, revision: str = "base") -> None:
        """Step the schema down to ``revision`` (``base`` = no tables)."""
        async with self.engine.connect() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), revision))
            await conn.commit()

    async def current_revision(self) -> str | None:
        """The revision the database is at (None = never migrated)."""
        if self._sqlite_path is not None and not self._sqlite_path.exists():
            return None  # do not create an empty file just to look
        async with self.engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )

    @staticmethod
    def head_revision() -> str | None:
        """The newest revision shipped with this version of vivavoce."""
        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    async def ping(self) -> None:
        """Raises when the database does not answer ``SELECT 1``."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def dispose(self, *, wait_s: float = 1.0) -> None:
        """Close the pool, once the connections still checked out are back (at most
        ``wait_s``). A cancelled session is closed by SQLAlchemy in a shielded task that
        may still run after the task that used it is done (a worker just stopped): a
        connection given back to a pool already disposed would outlive it, unclosed, in
        the middle of its transaction (on SQLite: holding the write lock)."""
        pool = self.engine.pool
        checked_out = getattr(pool, "checkedout", None)
        for _ in range(max(1, int(wait_s / 0.01))):
            if not callable(checked_out) or checked_out() == 0:
                break
            await asyncio.sleep(0.01)
        await self.engine.dispose()


def _upgrade_to_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def one_statement_transaction(s: AsyncSession) -> None:
    """The next statement is the whole change: run it in autocommit, so that on SQLite
    the write lock is released as the statement ends, not after a separate ``COMMIT``
    that waits for the event loop's next turn (a busy loop would hold every other
    writer back that long). Nothing to do when ``s`` is already in a transaction.

    On SQLite the driver connection is switched to autocommit directly and switched
    back when the pool takes it back (:func:`_sqlite_reset`): one trip to aiosqlite's
    thread each way. SQLAlchemy's own ``isolation_level`` option took five and a
    ``PRAGMA`` per write, a third of a start's insert (docs/performance.md)."""
    if s.in_transaction():
        return
    if s.get_bind().dialect.name == "sqlite":
        connection = await s.connection()
        await connection.run_sync(_sqlite_autocommit)
    else:
        await s.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


_AUTOCOMMIT = "vivavoce_autocommit"


def _sqlite_autocommit(connection: Connection) -> None:
    # pysqlite's autocommit; inside run_sync, so the adapter's setter may await its thread.
    pooled = connection.connection
    pooled.dbapi_connection.isolation_level = None  # type: ignore[union-attr]
    pooled.info[_AUTOCOMMIT] = True  # this driver connection's: cleared if it is replaced


def _sqlite_reset(dbapi_connection: Any, record: Any, state: PoolResetState) -> None:
    """Back in the pool: a connection switched to autocommit gets pysqlite's default
    (``BEGIN`` before a write) again, so the next session's transaction is one. Not on
    the terminate-only path: that connection is not used again."""
    if record.info.pop(_AUTOCOMMIT, False) and state.asyncio_safe:
        dbapi_connection.isolation_level = ""
