"""`vivavoce db upgrade|current` and `vivavoce questions import` end to end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vivavoce.cli import app

QUESTIONS = """\
- field: psychology
  level: graduate
  category: technical
  text: How would you pre-register a replication study?
- field: psychology
  level: graduate
  category: motivation
  text: Why research rather than clinical practice?
"""


@pytest.fixture
def run(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {"DATABASE_URL": database_url, "VIVAVOCE_DATA_DIR": str(tmp_path / "data")}

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, list(args), env=env)

    return invoke


def test_db_current_then_upgrade(run) -> None:  # type: ignore[no-untyped-def]
    before = run("db", "current")
    assert before.exit_code == 0, before.output
    assert "not migrated yet" in before.output
    upgraded = run("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    # Whichever revision is the newest (branches add migrations).
    assert re.search(r"at revision \w+ \(newest\)", upgraded.output), upgraded.output
    after = run("db", "current")
    assert re.search(r"at revision \w+ \(newest\)", after.output), after.output


def test_questions_import_valid_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bank.yaml"
    path.write_text(QUESTIONS, encoding="utf-8")
    dry = run("questions", "import", str(path), "--dry-run")
    assert dry.exit_code == 0 and "2 question(s), all valid" in dry.output
    first = run("questions", "import", str(path))
    assert first.exit_code == 0, first.output
    assert "added 2 question(s); 0 already" in first.output
    again = run("questions", "import", str(path))
    assert "added 0 question(s); 2 already" in again.output


def test_questions_import_reports_lines(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.json"
    path.write_text(
        '[\n  {"field": "psychology", "level": "graduate", "category": "technical",\n'
        '   "text": "A fine question?"},\n'
        '  {"field": "astrology", "level": "graduate", "category": "technical",\n'
        '   "text": "Which star sign?"}\n]\n',
        encoding="utf-8",
    )
    result = run("questions", "import", str(path))
    assert result.exit_code == 1
    assert "line 4: field" in result.output and "nothing imported" in result.output


def test_unreachable_or_unsupported_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    down = runner.invoke(
        app, ["db", "current"], env={"DATABASE_URL": "postgres://u:hunter2@127.0.0.1:1/x"}
    )
    assert down.exit_code == 1
    assert "cannot be used" in down.output and "hunter2" not in down.output
    other = runner.invoke(app, ["db", "upgrade"], env={"DATABASE_URL": "mysql://u@h/x"})
    assert other.exit_code == 2 and "SQLite or PostgreSQL" in other.output
