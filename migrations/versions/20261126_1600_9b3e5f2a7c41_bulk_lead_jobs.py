"""Bulk lead jobs: each lead remembers its row in the upload; a JSON parser that never raises.

``lead.job_row_number`` lets a job's result be exported in the order of the uploaded file, and
``bulk_try_jsonb`` lets one set-based statement tell the bad lines of a JSON-lines upload from
the good ones (PostgreSQL 15 has no ``IS JSON``/``pg_input_is_valid``).

Revision ID: 9b3e5f2a7c41
Revises: 5d1c0a7e9b21
Create Date: 2026-11-26 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9b3e5f2a7c41"
down_revision: str | None = "5d1c0a7e9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRY_JSONB = r"""
CREATE OR REPLACE FUNCTION bulk_try_jsonb(p_text text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
    RETURN p_text::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$fn$;
"""


def upgrade() -> None:
    op.add_column("lead", sa.Column("job_row_number", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_lead_job_id_job_row_number",
        "lead",
        ["job_id", "job_row_number"],
        unique=False,
        postgresql_where=sa.text("job_id IS NOT NULL"),
    )
    op.execute(TRY_JSONB)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS bulk_try_jsonb(text)")
    op.drop_index(
        "ix_lead_job_id_job_row_number",
        table_name="lead",
        postgresql_where=sa.text("job_id IS NOT NULL"),
    )
    op.drop_column("lead", "job_row_number")
