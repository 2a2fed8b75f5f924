"""``vivavoce db upgrade|current`` and ``vivavoce questions import FILE``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from vivavoce.cli_settings import settings_or_exit
from vivavoce.redact import redact
from vivavoce.store.database import Database, UnsupportedDatabase
from vivavoce.store.questions import QuestionFileError, import_questions, parse_question_file

__all__ = ["migrate_or_exit", "register"]

T = TypeVar("T")

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
questions_app = typer.Typer(help="The interview question bank.", no_args_is_help=True)


def _open_database(url: str | None = None) -> Database:
    """The database at ``url`` (default: the configured one); a URL vivavoce cannot use
    ends the command with the reason (exit 2)."""
    if url is None:
        url = settings_or_exit().effective_database_url
    try:
        return Database(url)
    except (UnsupportedDatabase, ArgumentError, ValueError) as exc:
        # ValueError: unusable connection parameters (e.g. connect_timeout=abc).
        typer.echo(f"vivavoce: DATABASE_URL is not usable: {redact(str(exc))}", err=True)
        raise typer.Exit(2) from None


def _run(db: Database, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` on the database; an unreachable database ends the command (exit 1)
    with the reason and the URL without its password."""

    async def main() -> T:
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except (SQLAlchemyError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        typer.echo(
            f"vivavoce: the database at {db.safe_url} cannot be used: "
            f"{redact(str(reason)).splitlines()[0] if str(reason) else type(reason).__name__}",
            err=True,
        )
        raise typer.Exit(1) from None


def migrate_or_exit(url: str) -> None:
    """Bring the database at ``url`` to the newest schema before ``serve`` starts.

    Ends the command with a one-line reason instead of a server traceback: exit 2 for a
    URL vivavoce cannot use (mysql://, not a URL, bad parameters), exit 1 for a database
    that cannot be reached or used. The server's own start-up migration then finds
    nothing left to do.
    """
    _run(_open_database(url), lambda d: d.migrate())


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration (``serve`` does this at start too)."""
    db = _open_database()

    async def work(d: Database) -> str | None:
        await d.migrate()
        return await d.current_revision()

    revision = _run(db, work)
    typer.echo(f"{db.safe_url}: at revision {revision} (newest)")


@db_app.command("current")
def current() -> None:
    """Show the database's migration revision and whether it is the newest."""
    db = _open_database()
    revision = _run(db, lambda d: d.current_revision())
    head = Database.head_revision()
    if revision is None:
        state = f"not migrated yet (newest is {head}); run: vivavoce db upgrade"
    elif revision == head:
        state = f"at revision {revision} (newest)"
    else:
        state = f"at revision {revision}; newest is {head}; run: vivavoce db upgrade"
    typer.echo(f"{db.safe_url}: {state}")


@questions_app.command("import")
def import_file(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="YAML or JSON file."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate only; write nothing.")
    ] = False,
) -> None:
    """Add your own interview questions from a YAML or JSON file.

    Each question needs field, level, category and text (difficulty is optional). Every
    problem is reported with its line number, and nothing is imported until the whole
    file is valid.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"vivavoce: cannot read {file}: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        questions = parse_question_file(text, source=str(file))
    except QuestionFileError as exc:
        typer.echo(f"{file}: {len(exc.problems)} problem(s), nothing imported:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1) from None
    if dry_run:
        typer.echo(f"{file}: {len(questions)} question(s), all valid (dry run: nothing written)")
        return
    db = _open_database()

    async def work(d: Database) -> int:
        await d.migrate()
        async with d.session() as session:
            return await import_questions(session, questions)

    added = _run(db, work)
    skipped = len(questions) - added
    typer.echo(f"{file}: added {added} question(s); {skipped} already in the bank")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(questions_app, name="questions")
