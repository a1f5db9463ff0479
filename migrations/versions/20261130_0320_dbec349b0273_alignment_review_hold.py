"""A review hold on draft alignments: a change request under review freezes its draft.

Revision ID: dbec349b0273
Revises: d0edf22120ad
Create Date: 2026-11-30 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dbec349b0273"
down_revision: str | None = "d0edf22120ad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alignment", sa.Column("review_hold", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("alignment", "review_hold")
