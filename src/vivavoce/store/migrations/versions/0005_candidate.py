"""Simulated interviews and the interviewer's whole interrupted turn.

- ``interviews.simulated``: the interview ran against the built-in simulator. Its
  tokens are the fake's, so usage does not bill it, and its evaluation is the offline
  one (the candidate's words were not transcribed).
- ``turns.full_text``: for an interviewer turn the candidate cut short, the whole text
  the interviewer was saying (``text`` keeps what was heard), so the results page can
  show the whole question.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        batch.add_column(
            sa.Column("simulated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("full_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("full_text")
    with op.batch_alter_table("interviews") as batch:
        batch.drop_column("simulated")
