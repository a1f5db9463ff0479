-- Stage history of opportunities, kept by two statement-level triggers on ``opportunity``: one
-- statement writes one set of versions however many rows it touched (a bulk upsert of millions
-- as much as a single upsert), from the statement's transition tables.
--
-- A version holds what pipeline "as of" an instant needs (stage, status, amount, holder, dates)
-- and is valid over [valid_from, valid_to). The first version of an opportunity starts when it
-- opened (or was written, if earlier or unknown): loading a CRM's history makes its past visible.
-- A change starts when it is written. Whether the opportunity was open at an instant is read
-- from its own dates (opened_at, closed_at), which may be reported late: see
-- services/metrics/kpis/pipeline_as_of.sql.

-- Loaded by the migration 4b9e2c7a1d63 (which also creates the triggers); a change here needs a
-- migration that reloads it.
CREATE OR REPLACE FUNCTION opportunity_history_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO opportunity_history (tenant_id, opportunity_id, territory_id, rep_id, stage,
                                     status, amount_reporting, opened_at, closed_at, valid_from)
    SELECT n.tenant_id, n.id, n.territory_id, n.rep_id, n.stage, n.status, n.amount_reporting,
           n.opened_at, n.closed_at, least(coalesce(n.opened_at, n.created_at), now())
      FROM new_rows n;
    RETURN NULL;
END
$$;
