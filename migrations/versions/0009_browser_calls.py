"""browser calls: the console's test call is stored like any call, direction "browser"

Revision ID: 0009
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _direction(*values: str) -> sa.Enum:
    return sa.Enum(
        *values, name="calldirection", native_enum=False, create_constraint=True, length=32
    )


def upgrade() -> None:
    # The CHECK constraint lists the allowed values; batch mode rebuilds it on SQLite.
    with op.batch_alter_table("calls") as batch:
        batch.alter_column(
            "direction",
            existing_type=_direction("inbound", "outbound"),
            type_=_direction("inbound", "outbound", "browser"),
            existing_nullable=False,
        )


def downgrade() -> None:
    op.execute("DELETE FROM calls WHERE direction = 'browser'")
    with op.batch_alter_table("calls") as batch:
        batch.alter_column(
            "direction",
            existing_type=_direction("inbound", "outbound", "browser"),
            type_=_direction("inbound", "outbound"),
            existing_nullable=False,
        )
