-- The update half of opportunity_history_on_insert.sql (read its comment).
-- Loaded by the migration 4b9e2c7a1d63 (which also creates the triggers); a change here needs a
-- migration that reloads it.
CREATE OR REPLACE FUNCTION opportunity_history_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT n.*, now() AS changed_at
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (n.stage, n.status, n.amount_reporting, n.territory_id, n.rep_id, n.opened_at,
                n.closed_at)
               IS DISTINCT FROM
               (o.stage, o.status, o.amount_reporting, o.territory_id, o.rep_id, o.opened_at,
                o.closed_at)
    ), closed AS (
        -- The current versions end where the new ones start (never before they began).
        UPDATE opportunity_history h
           SET valid_to = greatest(c.changed_at, h.valid_from)
          FROM changed c
         WHERE h.opportunity_id = c.id AND h.valid_to IS NULL
     RETURNING h.opportunity_id, h.valid_to
    )
    INSERT INTO opportunity_history (tenant_id, opportunity_id, territory_id, rep_id, stage,
                                     status, amount_reporting, opened_at, closed_at, valid_from)
    SELECT c.tenant_id, c.id, c.territory_id, c.rep_id, c.stage, c.status, c.amount_reporting,
           c.opened_at, c.closed_at, coalesce(closed.valid_to, c.changed_at)
      FROM changed c LEFT JOIN closed ON closed.opportunity_id = c.id;
    RETURN NULL;
END
$$;
