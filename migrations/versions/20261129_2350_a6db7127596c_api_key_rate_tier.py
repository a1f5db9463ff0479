"""API keys get a request-rate tier: the gateway limits each key by the zone of its tier.

The tier is also in the token's prefix (``tk_`` standard, ``tkh_`` high), which is what nginx
reads before any authentication; the column records it for listings and audits.

Revision ID: a6db7127596c
Revises: e7d24c9b1f05
Create Date: 2026-11-29 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a6db7127596c"
down_revision: str | None = "e7d24c9b1f05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_key",
        sa.Column("rate_tier", sa.String(16), server_default="standard", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_api_key_rate_tier_known"), "api_key", "rate_tier IN ('standard', 'high')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_api_key_rate_tier_known"), "api_key", type_="check")
    op.drop_column("api_key", "rate_tier")
