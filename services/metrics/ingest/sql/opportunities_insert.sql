-- The upload's good rows the tenant does not have yet: inserted, ids in upload order (UUIDv7,
-- so the primary key fills leaf by leaf). A row an API upsert inserted meanwhile is left to it.
-- $1 tenant id.
INSERT INTO opportunity (id, tenant_id, external_id, name, account_id, rep_id, territory_id,
                         stage, status, amount, currency, amount_reporting, opened_at, closed_at)
SELECT {ordered_id}, $1, g.external_id, g.name, g.account_id, g.rep_id, g.territory_id,
       g.stage, g.status, g.amount, g.currency, g.amount_reporting, g.opened_at, g.closed_at
  FROM {typed} g
 WHERE g.problems = '{{}}'
   AND NOT EXISTS (SELECT FROM opportunity o
                    WHERE o.tenant_id = $1 AND o.external_id = g.external_id)
ON CONFLICT (tenant_id, external_id) DO NOTHING
