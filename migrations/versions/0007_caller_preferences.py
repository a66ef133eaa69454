"""returning callers: preferences by a keyed hash of the caller ID

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "caller_preferences",
        sa.Column("caller_key", sa.String(length=64), nullable=False),
        sa.Column(
            "preferences",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller_key", name=op.f("pk_caller_preferences")),
    )
    op.create_index(
        op.f("ix_caller_preferences_updated_at"), "caller_preferences", ["updated_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_caller_preferences_updated_at"), table_name="caller_preferences")
    op.drop_table("caller_preferences")
