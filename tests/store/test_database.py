"""The database handle and the migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from vivavoce.store.database import Database, UnsupportedDatabase
from vivavoce.store.models import Base

# The migrations create exactly the tables the models declare (columns: the test below).
TABLES = set(Base.metadata.tables)
assert {"interviews", "turns", "evaluations", "questions"} <= TABLES


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    return names - {"alembic_version"}


async def test_upgrade_from_empty_then_downgrade_cleanly(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert await db.current_revision() is None
        await db.migrate()
        assert await db.current_revision() == Database.head_revision()
        assert await _tables(db) == TABLES
        await db.downgrade("base")
        assert await db.current_revision() is None
        assert await _tables(db) == set()
        # …and back up again: the downgrade left nothing behind that blocks it.
        await db.migrate()
        assert await _tables(db) == TABLES
    finally:
        await db.dispose()


async def test_models_match_migrations(db: Database) -> None:
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
            )
        )
    assert diff == []


async def test_migrate_twice_is_harmless(db: Database) -> None:
    async with db.session() as s:
        before = await s.scalar(text("SELECT count(*) FROM questions"))
    await db.migrate()
    async with db.session() as s:
        after = await s.scalar(text("SELECT count(*) FROM questions"))
    assert before == after and before > 0


async def test_instances_migrating_together_do_not_race(database_url: str) -> None:
    # On PostgreSQL the advisory lock serialises them; on SQLite the write lock does (and
    # a brand-new file's switch to WAL must not fail the losers).
    instances = [Database(database_url) for _ in range(4)]
    first = instances[0]
    try:
        await asyncio.gather(*(db.migrate() for db in instances))
        async with first.session() as s:
            builtin = await s.scalar(
                text("SELECT count(*) FROM questions WHERE source = 'builtin'")
            )
        from vivavoce.store.question_bank import builtin_questions

        assert builtin == len(builtin_questions())
        assert await first.current_revision() == Database.head_revision()
        if first.dialect == "sqlite":
            async with first.engine.connect() as conn:
                assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
    finally:
        for db in instances:
            await db.dispose()


async def test_ping(db: Database) -> None:
    await db.ping()


async def test_sqlite_creates_its_directory_and_enables_foreign_keys_and_wal(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nested" / "dir" / "v.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.migrate()
        assert path.exists()
        async with db.engine.connect() as conn:
            assert (await conn.scalar(text("PRAGMA foreign_keys"))) == 1
            assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
            # NORMAL (1): with WAL, no fsync per commit; a crashed process loses nothing.
            assert (await conn.scalar(text("PRAGMA synchronous"))) == 1
        assert db.dialect == "sqlite"
    finally:
        await db.dispose()


def test_other_databases_are_refused_clearly() -> None:
    with pytest.raises(UnsupportedDatabase, match="SQLite or PostgreSQL"):
        Database("mysql+aiomysql://u@h/db")


def test_safe_url_hides_the_password() -> None:
    db = Database("postgresql+asyncpg://user:hunter2@db.example/app")
    assert "hunter2" not in db.safe_url
    assert db.dialect == "postgresql"


@pytest.mark.postgres
async def test_platform_style_postgres_parameters_work(postgres_module_url: str) -> None:
    # What platforms hand out is written for libpq; asyncpg would reject these names.
    db = Database(
        postgres_module_url
        + "?sslmode=disable&channel_binding=disable&connect_timeout=5&application_name=vivavoce"
    )
    try:
        await db.ping()
        async with db.engine.connect() as conn:
            assert await conn.scalar(text("SHOW application_name")) == "vivavoce"
    finally:
        await db.dispose()


def test_unusable_connect_timeout_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="connect_timeout"):
        Database("postgresql+asyncpg://u@h/db?connect_timeout=soon")


async def test_in_memory_sqlite_is_one_shared_database() -> None:
    # Without a single shared connection every session would see its own empty database.
    db = Database("sqlite+aiosqlite://")
    try:
        await db.migrate()
        async with db.session() as s:
            count = await s.scalar(text("SELECT count(*) FROM questions"))
        assert count and count > 0
    finally:
        await db.dispose()


async def test_dispose_waits_for_a_connection_still_being_given_back(tmp_path: Path) -> None:
    # A cancelled session is closed by SQLAlchemy in a task of its own, which may still run
    # when the app disposes of the pool: its connection must come back first, not outlive it.
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'dispose.sqlite3'}")
    session = db.session()
    s = await session.__aenter__()
    await s.execute(text("SELECT 1"))

    async def give_back_later() -> None:
        await asyncio.sleep(0.2)
        await session.__aexit__(None, None, None)

    closing = asyncio.create_task(give_back_later())
    await db.dispose()
    assert closing.done()  # dispose waited for it (bounded: wait_s)
    await closing
