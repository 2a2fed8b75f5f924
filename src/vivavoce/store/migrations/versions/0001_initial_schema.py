"""Initial schema: interviews, turns, evaluations, questions.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types at the time of this migration (a migration must not change
# when the models do).
TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(precision=12, scale=6, asdecimal=False)


def _tokens(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)


def upgrade() -> None:
    op.create_table(
        "interviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("candidate", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=True),
        _tokens("input_text_tokens"),
        _tokens("input_audio_tokens"),
        _tokens("input_cached_tokens"),
        _tokens("output_text_tokens"),
        _tokens("output_audio_tokens"),
        sa.Column("cost_usd", MONEY, server_default="0", nullable=False),
        sa.CheckConstraint(
            "status IN ('created', 'live', 'ended', 'failed')", name=op.f("ck_interviews_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interviews")),
    )
    op.create_index("ix_interviews_created_at", "interviews", ["created_at"])
    op.create_index("ix_interviews_status_created_at", "interviews", ["status", "created_at"])

    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("difficulty", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "source IN ('builtin', 'imported')", name=op.f("ck_questions_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
    )
    op.create_index("ix_questions_field_level", "questions", ["field", "level"])

    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("interview_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("overall_score", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("low_confidence", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("invented_quotes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("model", sa.String(length=64), nullable=True),
        _tokens("input_tokens"),
        _tokens("output_tokens"),
        sa.Column("cost_usd", MONEY, server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed', 'insufficient')",
            name=op.f("ck_evaluations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_evaluations_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
        sa.UniqueConstraint("interview_id", name=op.f("uq_evaluations_interview_id")),
    )
    op.create_index(
        "ix_evaluations_status_next_attempt_at", "evaluations", ["status", "next_attempt_at"]
    )

    op.create_table(
        "turns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("interview_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("audio_ms", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "speaker IN ('interviewer', 'candidate')", name=op.f("ck_turns_speaker")
        ),
        sa.CheckConstraint(
            "state IN ('complete', 'interrupted', 'partial')", name=op.f("ck_turns_state")
        ),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_turns_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turns")),
        sa.UniqueConstraint(
            "interview_id", "sequence", name=op.f("uq_turns_interview_id_sequence")
        ),
    )
    op.create_index("ix_turns_interview_id_item_id", "turns", ["interview_id", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_turns_interview_id_item_id", table_name="turns")
    op.drop_table("turns")
    op.drop_index("ix_evaluations_status_next_attempt_at", table_name="evaluations")
    op.drop_table("evaluations")
    op.drop_index("ix_questions_field_level", table_name="questions")
    op.drop_table("questions")
    op.drop_index("ix_interviews_status_created_at", table_name="interviews")
    op.drop_index("ix_interviews_created_at", table_name="interviews")
    op.drop_table("interviews")
