"""Leases: a heartbeat row per running instance, and the owner of each live interview.

Revision ID: 0002
Revises: 0005 (chained after main's migrations when it was merged in)
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)  # frozen copy, as in 0001


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
        sa.CheckConstraint("kind IN ('server', 'worker')", name=op.f("ck_instances_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    op.create_index("ix_instances_heartbeat_at", "instances", ["heartbeat_at"])
    # Batch mode: SQLite adds a foreign key only by rebuilding the table.
    with op.batch_alter_table("interviews") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("lease_generation", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.create_foreign_key(
            op.f("fk_interviews_owner_id_instances"), "instances", ["owner_id"], ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_interviews_owner_id", ["owner_id"])


def downgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        batch.drop_index("ix_interviews_owner_id")
        batch.drop_constraint(op.f("fk_interviews_owner_id_instances"), type_="foreignkey")
        batch.drop_column("lease_generation")
        batch.drop_column("owner_id")
    op.drop_index("ix_instances_heartbeat_at", table_name="instances")
    op.drop_table("instances")
