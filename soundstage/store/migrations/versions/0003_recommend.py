"""recommend: catalogue items, users and interaction logs, namespaced by dataset.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rec_items",
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("genres", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("creator", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "id", name=op.f("pk_rec_items")),
    )
    op.create_table(
        "rec_users",
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "id", name=op.f("pk_rec_users")),
    )
    op.create_table(
        "rec_interactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "event IN ('rating', 'play', 'like', 'skip', 'complete')",
            name=op.f("ck_rec_interactions_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rec_interactions")),
    )
    op.create_index("ix_rec_interactions_dataset_user", "rec_interactions", ["dataset", "user_id"])
    op.create_index("ix_rec_interactions_dataset_item", "rec_interactions", ["dataset", "item_id"])
    op.create_index(
        "ix_rec_interactions_dataset_timestamp", "rec_interactions", ["dataset", "timestamp"]
    )


def downgrade() -> None:
    op.drop_index("ix_rec_interactions_dataset_timestamp", table_name="rec_interactions")
    op.drop_index("ix_rec_interactions_dataset_item", table_name="rec_interactions")
    op.drop_index("ix_rec_interactions_dataset_user", table_name="rec_interactions")
    op.drop_table("rec_interactions")
    op.drop_table("rec_users")
    op.drop_table("rec_items")
