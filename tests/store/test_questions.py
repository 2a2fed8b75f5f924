"""The question bank: seeding, picking, importing operators' files."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from vivavoce.interview.candidate import FIELDS, LEVELS
from vivavoce.store.database import Database
from vivavoce.store.models import Question
from vivavoce.store.question_bank import builtin_questions
from vivavoce.store.questions import (
    QuestionFileError,
    import_questions,
    parse_question_file,
    pick_questions,
)


def test_builtin_bank_covers_every_field_level_and_category() -> None:
    counts = Counter((q.field, q.level, q.category) for q in builtin_questions())
    for field in FIELDS:
        for level in LEVELS:
            for category in ("technical", "behavioural", "motivation", "situational"):
                assert counts[(field, level, category)] >= 3, (field, level, category)
    texts = [q.text for q in builtin_questions()]
    assert all("{" not in t and "}" not in t for t in texts)  # every template filled


async def test_seeded_once(db: Database) -> None:
    async with db.session() as s:
        n = await s.scalar(select(func.count()).select_from(Question))
    assert n == len(builtin_questions())


async def test_pick_mixes_categories_and_prefers_the_field_and_level(db: Database) -> None:
    async with db.session() as s:
        picked = await pick_questions(
            s, field="finance", level="graduate", limit=8, rng=random.Random(7)
        )
    assert len(picked) == 8
    assert all(q.field == "finance" and q.level == "graduate" for q in picked)
    # Round-robin: the first four cover four different categories.
    assert len({q.category for q in picked[:4]}) == 4


async def test_pick_prefers_the_difficulty(db: Database) -> None:
    async with db.session() as s:
        picked = await pick_questions(
            s, field="engineering", level="undergraduate_late", limit=8, difficulty="hard",
            rng=random.Random(3),
        )
    # One hard question per category exists at this field and level: those come first.
    assert [q.difficulty for q in picked[:4]] == ["hard"] * 4
    assert len({q.category for q in picked[:4]}) == 4
    assert "hard" not in {q.difficulty for q in picked[4:]}


async def test_pick_falls_back_to_general_then_other_levels(db: Database) -> None:
    async with db.session() as s:
        picked = await pick_questions(
            s, field="finance", level="graduate", limit=30, categories=["technical"],
            rng=random.Random(1),
        )
    assert [q.category for q in picked] == ["technical"] * len(picked)
    kinds = [(q.field, q.level) for q in picked]
    assert kinds[:3] == [("finance", "graduate")] * 3
    assert set(kinds[3:6]) == {("general", "graduate")}
    assert ("finance", "high_school") in kinds[6:]


async def test_pick_edge_cases(db: Database) -> None:
    async with db.session() as s:
        assert await pick_questions(s, field="finance", level="graduate", limit=0) == []
        with pytest.raises(ValueError):
            await pick_questions(s, field="finance", level="graduate", limit=-1)
        unknown = await pick_questions(s, field="astrology", level="graduate", limit=3)
    assert [q.field for q in unknown] == ["general"] * 3


YAML_OK = """\
questions:
  - field: computer science
    level: graduate
    category: behavioral
    text: Tell me about the hardest code review you received.
  - field: finance
    level: high_school
    category: technical
    difficulty: easy
    text: What does a bank do with the money you deposit?
"""


async def test_import_yaml_adds_and_skips_duplicates(db: Database) -> None:
    parsed = parse_question_file(YAML_OK)
    assert parsed[0].field == "computer_science" and parsed[0].category == "behavioural"
    async with db.session() as s:
        assert await import_questions(s, parsed) == 2
        assert await import_questions(s, parsed) == 0
        imported = (await s.scalars(select(Question).where(Question.source == "imported"))).all()
        picked = await pick_questions(
            s, field="finance", level="high_school", limit=200, categories=["technical"]
        )
    assert len(imported) == 2
    assert "What does a bank do with the money you deposit?" in {q.text for q in picked}


def test_import_json_works_too() -> None:
    parsed = parse_question_file(
        '[{"field": "business", "level": "graduate", "category": "case",'
        ' "text": "Size the market for electric bikes."}]'
    )
    assert parsed[0].category == "case"


def test_import_errors_name_their_lines() -> None:
    bad = """\
- field: finance
  level: graduate
  category: technical
  text: Fine question here?
- field: finanse
  level: year 9
  category: technical
  text: x
- just a string
"""
    with pytest.raises(QuestionFileError) as info:
        parse_question_file(bad)
    lines = [str(p) for p in info.value.problems]
    # Each problem names the line of the value at fault and the field.
    assert any(p.startswith("questions line 5: field: ") for p in lines), lines
    assert any(p.startswith("questions line 6: level: ") for p in lines), lines
    assert any(p.startswith("questions line 8: text: ") for p in lines), lines
    assert any(p.startswith("questions line 9: question 3: expected a mapping") for p in lines), lines
    assert len(lines) == 4, lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [unclosed\n", "questions line 2: not valid YAML"),
        ("42\n", "expected a list"),
        ("[]\n", "no questions"),
        ("- field: finance\n  level: graduate\n  category: technical\n  text: Valid text?\n  extra: 1\n", "line 5: extra: "),
    ],
)
def test_import_rejects_malformed_files(text: str, expected: str) -> None:
    with pytest.raises(QuestionFileError, match=expected):
        parse_question_file(text)


async def test_cached_picks_are_the_same_and_read_the_bank_once(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy import event

    from vivavoce.store import questions

    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.session() as s:
            for field, level, seed, extra in [
                ("finance", "graduate", 7, {}),
                ("finance", "high_school", 2, {"difficulty": "hard"}),
                ("engineering", "graduate", 3, {"categories": ["technical", "case"]}),
                ("astrology", "graduate", 1, {}),
            ]:
                args = {"field": field, "level": level, "limit": 8, **extra}
                direct = await pick_questions(s, rng=random.Random(seed), **args)
                before = len(seen)
                cached = await questions.pick_cached_questions(s, rng=random.Random(seed), **args)
                assert [q.id for q in cached] == [q.id for q in direct]
                assert [q.text for q in cached] == [q.text for q in direct]
                # A field's first pick reads it (finance is read once for both levels).
                assert len(seen) == before + (0 if (field, level) == ("finance", "high_school")
                                              else 1)
                before = len(seen)
                again = await questions.pick_cached_questions(s, rng=random.Random(seed), **args)
                assert [q.id for q in again] == [q.id for q in direct]
                assert len(seen) == before  # the next ones do not
            # An import in this process is picked at once.
            new = parse_question_file(
                "- {field: finance, level: graduate, category: closing, "
                "text: 'Which question would you ask us?'}")
            assert await import_questions(s, new) == 1
            picked = await questions.pick_cached_questions(
                s, field="finance", level="graduate", limit=50, categories=["closing"])
            assert [q.text for q in picked] == ["Which question would you ask us?"]
            # Another process's import: seen once the copy is older than BANK_CACHE_S.
            s.add(Question(field="finance", level="graduate", category="closing",
                           difficulty="medium", text="Anything else?", source="imported"))
            await s.commit()
            picked = await questions.pick_cached_questions(
                s, field="finance", level="graduate", limit=50, categories=["closing"])
            assert len(picked) == 1
            monkeypatch.setattr(questions, "BANK_CACHE_S", 0.0)
            picked = await questions.pick_cached_questions(
                s, field="finance", level="graduate", limit=50, categories=["closing"])
            assert len(picked) == 2
            with pytest.raises(ValueError):
                await questions.pick_cached_questions(s, field="finance", level="graduate",
                                                      limit=-1)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
