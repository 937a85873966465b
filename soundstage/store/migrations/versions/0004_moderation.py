"""moderation: the human review queue (mod_items) and its append-only audit log (mod_events).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10

The audit log is made append-only by triggers that reject UPDATE and DELETE on mod_events.
They live only here (models cannot express triggers, and the drift test ignores them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "mod_events is append-only: the moderation audit log cannot be changed"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER mod_events_no_{verb.lower()} BEFORE {verb} ON mod_events
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"""
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION mod_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{APPEND_ONLY} (% refused)', TG_OP;
    END
    $$""",
    """CREATE TRIGGER mod_events_append_only BEFORE UPDATE OR DELETE ON mod_events
    FOR EACH ROW EXECUTE FUNCTION mod_events_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "mod_items",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("content_id", sa.String(200), nullable=False),
        sa.Column("surface", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=True),
        sa.Column("automated_decision", sa.String(8), nullable=True),
        sa.Column("policy", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("assigned_at", sa.DateTime(), nullable=True),
        sa.Column("decision", sa.String(8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("clause", sa.String(200), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("appellant", sa.String(200), nullable=True),
        sa.Column("appeal_reason", sa.Text(), nullable=True),
        sa.Column("appealed_at", sa.DateTime(), nullable=True),
        sa.Column("appeal_outcome", sa.String(16), nullable=True),
        sa.Column("appeal_decided_by", sa.String(200), nullable=True),
        sa.Column("appeal_decided_at", sa.DateTime(), nullable=True),
        sa.Column("final_decision", sa.String(8), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "source IN ('automated', 'user_report', 'release_gate')",
            name=op.f("ck_mod_items_source"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'assigned', 'decided', 'appealed', 'closed')",
            name=op.f("ck_mod_items_status"),
        ),
        sa.CheckConstraint(
            "automated_decision IS NULL OR automated_decision IN ('allow', 'review', 'block')",
            name=op.f("ck_mod_items_automated"),
        ),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('allow', 'block')",
            name=op.f("ck_mod_items_decision"),
        ),
        sa.CheckConstraint(
            "final_decision IS NULL OR final_decision IN ('allow', 'block')",
            name=op.f("ck_mod_items_final"),
        ),
        sa.CheckConstraint(
            "appeal_outcome IS NULL OR appeal_outcome IN ('upheld', 'overturned')",
            name=op.f("ck_mod_items_outcome"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mod_items")),
        sa.UniqueConstraint(
            "content_id", "surface", "text_sha256", name=op.f("uq_mod_items_content_id")
        ),
    )
    op.create_index(
        "ix_mod_items_status_priority", "mod_items", ["status", "priority", "created_at"]
    )
    op.create_table(
        "mod_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(210), nullable=False),
        sa.Column("actor_kind", sa.String(8), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("clause", sa.String(200), nullable=True),
        sa.Column("policy", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "actor_kind IN ('model', 'human', 'user')", name=op.f("ck_mod_events_actor_kind")
        ),
        sa.CheckConstraint(
            "action IN ('flagged', 'reported', 'assigned', 'released', 'decided', 'appealed', "
            "'appeal_decided')",
            name=op.f("ck_mod_events_action"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["mod_items.id"], name=op.f("fk_mod_events_item_id_mod_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mod_events")),
    )
    op.create_index("ix_mod_events_item", "mod_events", ["item_id", "id"])
    statements = (
        POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    )
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS mod_events_append_only ON mod_events")
        op.execute("DROP FUNCTION IF EXISTS mod_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS mod_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS mod_events_no_delete")
    op.drop_index("ix_mod_events_item", table_name="mod_events")
    op.drop_table("mod_events")
    op.drop_index("ix_mod_items_status_priority", table_name="mod_items")
    op.drop_table("mod_items")
