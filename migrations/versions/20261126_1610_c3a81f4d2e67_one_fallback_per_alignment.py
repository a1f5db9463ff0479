"""At most one fallback territory per alignment, enforced by the database.

Revision ID: c3a81f4d2e67
Revises: 9b3e5f2a7c41
Create Date: 2026-11-26 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3a81f4d2e67"
down_revision: str | None = "9b3e5f2a7c41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_territory_one_fallback_per_alignment",
        "territory",
        ["alignment_id"],
        unique=True,
        postgresql_where=sa.text("is_fallback"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_territory_one_fallback_per_alignment",
        table_name="territory",
        postgresql_where=sa.text("is_fallback"),
    )
