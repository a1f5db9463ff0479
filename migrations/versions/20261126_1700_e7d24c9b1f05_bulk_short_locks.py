"""Bulk jobs reserve their turns in a short transaction: a private schema for the bulk module.

Schema ``assignment_bulk`` (raw SQL of ``services/assignment/bulk`` only, no ORM model):
- ``reservation``: what a job added to ``territory.turn_counter``,
  ``territory_member.assigned_count`` and ``rep.open_assignments`` when it reserved its turns
  (committed before its leads are written). The job's write transaction deletes its rows as it
  commits; if the write fails, one statement subtracts them again. Durable, so the reservation of
  a job whose process died can still be given back. No foreign keys to territory and rep: tens
  of thousands of rows are written while those rows are locked, and giving back to a territory
  or rep deleted since is nothing to do anyway.
- per-job UNLOGGED working tables (``j<token>_<name>``): the staged upload and the stages' results.
  Unlike temp tables they can be read by parallel workers. Each job drops its own; a job whose
  process died leaves them to the next upload's sweep.

``assignment_bulk.domain_of``: ``normalise_domain`` (services/assignment/accounts/domains.py) in
SQL, as the bulk validation applies it (it was a scalar subquery there: a plan computing one in
its output runs that output in the leader only, not in parallel workers).

``bulk_try_jsonb`` catches errors, which opens a subtransaction: that is not allowed in a parallel
worker, so it is PARALLEL UNSAFE (it was marked SAFE, harmless while the staging tables were temp
tables, which parallel plans never read).

Revision ID: e7d24c9b1f05
Revises: c3a81f4d2e67
Create Date: 2026-11-26 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e7d24c9b1f05"
down_revision: str | None = "c3a81f4d2e67"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The host of a URL or the part after an e-mail's @, lower case, no port, trailing dot or www.
# Not checked here (see bulk/staging.py _DOMAIN); internationalised names are not converted to
# punycode, so they fail that check.
DOMAIN_OF = r"""
CREATE FUNCTION assignment_bulk.domain_of(p_value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    t text := lower(regexp_replace(p_value, '^\s+|\s+$', '', 'g'));
BEGIN
    IF strpos(t, '@') > 0 AND strpos(t, '://') = 0 THEN
        t := substring(t from '@([^@]*)$');
    END IF;
    IF strpos(t, '://') > 0 THEN
        t := regexp_replace(regexp_replace(substring(t from '://([^/?#]*)'), '^.*@', ''),
                            ':[0-9]*$', '');
    ELSIF strpos(t, '/') > 0 THEN
        t := regexp_replace(regexp_replace(split_part(t, '/', 1), '^.*@', ''), ':[0-9]*$', '');
    ELSE
        t := split_part(t, ':', 1);
    END IF;
    RETURN regexp_replace(rtrim(t, '.'), '^www\.', '');
END;
$fn$;
"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA assignment_bulk")
    op.execute(
        """
        CREATE TABLE assignment_bulk.reservation (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            job_id uuid NOT NULL REFERENCES assignment_job (id) ON DELETE CASCADE,
            territory_id uuid,
            rep_id uuid,
            turns bigint NOT NULL DEFAULT 0,
            assigned bigint NOT NULL DEFAULT 0,
            opened bigint NOT NULL DEFAULT 0
        )
        """
    )
    op.execute("CREATE INDEX ix_reservation_job_id ON assignment_bulk.reservation (job_id)")
    op.execute(DOMAIN_OF)
    op.execute("ALTER FUNCTION bulk_try_jsonb(text) PARALLEL UNSAFE")


def downgrade() -> None:
    op.execute("ALTER FUNCTION bulk_try_jsonb(text) PARALLEL SAFE")
    op.execute("DROP SCHEMA assignment_bulk CASCADE")
