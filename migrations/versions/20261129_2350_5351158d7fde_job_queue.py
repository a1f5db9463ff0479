"""The job queue: procrastinate's schema, and jobs that know their queued job and can be cancelled.

- Schema ``procrastinate``: procrastinate 3.10.0's own SQL (``shared/jobs/sql/``, copied verbatim
  from the package, so this migration creates the same objects whatever version is installed
  later; a procrastinate upgrade is a new migration applying its ``sql/migrations`` files). Its
  objects are unqualified, so they are created with ``search_path = procrastinate`` and its
  connections use ``procrastinate, public`` (``shared/jobs/app.py``). A schema of its own keeps
  them out of our models' schema (and of autogenerate), and downgrade is one DROP.
- ``assignment_job.queue_job_id``: the procrastinate job running it (NULL: run inline by the API).
- ``assignment_job.status`` may be ``cancelled``.

Revision ID: 5351158d7fde
Revises: 8fae8901f742
Create Date: 2026-11-29 23:50:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.util import await_only

revision: str = "5351158d7fde"
down_revision: str | None = "8fae8901f742"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA_SQL = Path(__file__).resolve().parents[2] / "shared/jobs/sql/procrastinate_schema_3.10.0.sql"
STATUS_CHECK = "ck_assignment_job_assignment_job_status"


def _execute_script(sql: str) -> None:
    """Run a script of many statements (with ``$$`` bodies, ``%`` and ``:`` in it) as it is:
    through asyncpg's simple query protocol, in the migration's transaction."""
    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    await_only(driver_connection.execute(sql))


def upgrade() -> None:
    op.execute("CREATE SCHEMA procrastinate")
    op.execute("SET LOCAL search_path = procrastinate, public")
    _execute_script(SCHEMA_SQL.read_text(encoding="utf-8"))
    op.execute("SET LOCAL search_path = public")

    op.add_column("assignment_job", sa.Column("queue_job_id", sa.BigInteger(), nullable=True))
    op.drop_constraint(op.f(STATUS_CHECK), "assignment_job", type_="check")
    op.create_check_constraint(
        op.f(STATUS_CHECK),
        "assignment_job",
        "status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')",
    )


def downgrade() -> None:
    op.execute(
        "UPDATE assignment_job SET status = 'failed', error = coalesce(error, 'cancelled')"
        " WHERE status = 'cancelled'"
    )
    op.drop_constraint(op.f(STATUS_CHECK), "assignment_job", type_="check")
    op.create_check_constraint(
        op.f(STATUS_CHECK),
        "assignment_job",
        "status IN ('pending', 'running', 'succeeded', 'failed')",
    )
    op.drop_column("assignment_job", "queue_job_id")
    op.execute("DROP SCHEMA procrastinate CASCADE")
