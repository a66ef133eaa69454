"""who published a prompt or tool version, and when a tool version was published

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("prompt_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_prompt_versions_published_by_users"),
            "users",
            ["published_by"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("tool_definitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("published_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tool_definitions_published_by_users"),
            "users",
            ["published_by"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("tool_definitions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tool_definitions_published_by_users"), type_="foreignkey"
        )
        batch_op.drop_column("published_by")
        batch_op.drop_column("published_at")
    with op.batch_alter_table("prompt_versions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_prompt_versions_published_by_users"), type_="foreignkey"
        )
        batch_op.drop_column("published_by")
